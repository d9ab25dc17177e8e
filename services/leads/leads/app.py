"""Composition root of the leads service: wiring only."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from leadflow.bus import Bus
from leadflow.bus.topology import (
    LEADS_LIVIA,
    LEADS_PIPELINE,
    LEADS_RPC,
    by_event_type,
    on,
)
from leadflow.contracts import set_default_country
from leadflow.db import Migrations, ServiceDatabase, one_statement_engine, session_factory
from leadflow.events import (
    AssignmentDecided,
    LeadClassified,
    LiviaLeadQualified,
    LiviaPaused,
    LiviaResumed,
)
from leadflow.http import ops_router
from leadflow.rpc import rpc_dispatcher
from leadflow.service import Service
from leadflow.settings import Settings
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from leads.accounts.handlers import AccountsHandlers
from leads.config import LeadsSettings
from leads.handlers import LeadsHandlers
from leads.livia_leads import LiviaLeadHandlers
from leads.models import OUTBOX

SCHEMA = Migrations(Path(__file__).resolve().parent.parent / "migrations", "alembic_version_leads")


@dataclass
class Leads:
    """The service as `wire` builds it: what it serves, and the parts tests drive."""

    service: Service
    handlers: LeadsHandlers
    livia_leads: LiviaLeadHandlers
    accounts: AccountsHandlers
    sessions: async_sessionmaker[AsyncSession]
    database: ServiceDatabase


def build(settings: Settings, bus: Bus) -> Service:
    return wire(settings, bus).service


def wire(settings: Settings, bus: Bus) -> Leads:
    """The composition root: every part of the service, connected to `bus`."""
    set_default_country(settings.default_country)
    database = ServiceDatabase.of(settings, "leads", SCHEMA, OUTBOX, bus)
    engine, relay = database.engine, database.relay
    sessions = session_factory(engine)
    handlers = LeadsHandlers(relay=relay, autocommit=one_statement_engine(engine))
    livia_leads = LiviaLeadHandlers(handlers)
    accounts = AccountsHandlers(
        sessions=sessions,
        relay=relay,
        hasher=LeadsSettings.of(settings).password_hasher(),
        refresh_ttl_s=settings.refresh_token_ttl,
    )

    bus.serve(
        LEADS_RPC,
        rpc_dispatcher(
            {
                "login": accounts.login,
                "refresh": accounts.refresh,
                "logout": accounts.logout,
                "create_consultant": accounts.create_consultant,
                "update_consultant": accounts.update_consultant,
                "list_consultants": accounts.list_consultants,
                "get_consultant": accounts.get_consultant,
                "session_state": accounts.session_state,
                "create_lead": handlers.create_lead,
                "get_lead": handlers.get_lead,
                "list_leads": handlers.list_leads,
                "update_lead": handlers.update_lead,
                "assign_lead": handlers.assign_lead,
                "lead_for_whatsapp": livia_leads.lead_for_whatsapp,
                "dashboard": handlers.dashboard,
            }
        ),
    )
    bus.consume(
        LEADS_PIPELINE,
        by_event_type(
            on(LeadClassified, handlers.on_lead_classified),
            on(AssignmentDecided, handlers.on_assignment_decided),
        ),
    )

    bus.consume(
        LEADS_LIVIA,
        by_event_type(
            on(LiviaLeadQualified, livia_leads.on_lead_qualified),
            on(LiviaPaused, livia_leads.on_livia_paused),
            on(LiviaResumed, livia_leads.on_livia_resumed),
        ),
    )

    async def ensure_admin() -> None:
        await accounts.ensure_admin(settings.admin_email, settings.admin_password)

    app = FastAPI(title="leadflow leads", openapi_url=None)
    app.include_router(ops_router("leads", {"broker": bus.ping, "database": database.ready}))
    service = Service(name="leads", app=app, **database.hooks(after_bus=[ensure_admin]))
    return Leads(service, handlers, livia_leads, accounts, sessions, database)
