"""Composition root of the assignment service: wiring only."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from leadflow.bus import Bus
from leadflow.bus.topology import (
    ASSIGNMENT_PRESENCE,
    ASSIGNMENT_REQUESTS,
    ASSIGNMENT_RPC,
    by_event_type,
    on,
)
from leadflow.db import Migrations, ServiceDatabase, one_statement_engine, session_factory
from leadflow.events import (
    ConsultantSaved,
    LeadAssigned,
    LeadAssignmentRequested,
    LeadCreated,
    LeadUpdated,
    PresenceSnapshot,
)
from leadflow.http import ops_router
from leadflow.periodic import Periodic
from leadflow.rpc import rpc_dispatcher
from leadflow.service import Service
from leadflow.settings import Settings

from assignment.config import AssignmentSettings
from assignment.handlers import AssignmentHandlers
from assignment.models import OUTBOX

SCHEMA = Migrations(
    Path(__file__).resolve().parent.parent / "migrations", "alembic_version_assignment"
)


def sweep_interval_s(settings: AssignmentSettings) -> float:
    """Often enough that an SLA is kept to within a quarter of itself, at most every 30 s."""
    if settings.assignment_sla_minutes is None:
        return 30.0
    return max(0.5, min(30.0, settings.assignment_sla_minutes * 60 / 4))


@dataclass
class Assignment:
    """The service as `wire` builds it: what it serves, and the parts tests drive."""

    service: Service
    handlers: AssignmentHandlers
    database: ServiceDatabase


def build(settings: Settings, bus: Bus) -> Service:
    return wire(settings, bus).service


def wire(settings: Settings, bus: Bus) -> Assignment:
    """The composition root: every part of the service, connected to `bus`."""
    config = AssignmentSettings.of(settings)
    database = ServiceDatabase.of(config, "assignment", SCHEMA, OUTBOX, bus)
    handlers = AssignmentHandlers(
        sessions=session_factory(database.engine),
        relay=database.relay,
        autocommit=one_statement_engine(database.engine),
        policy=config.assignment_policy,
        skip_offline=config.assignment_skip_offline,
        sla_minutes=config.assignment_sla_minutes,
    )
    sweep = Periodic("assignment-sweep", sweep_interval_s(config), handlers.sweep)
    bus.consume(
        ASSIGNMENT_REQUESTS,
        by_event_type(
            on(LeadAssignmentRequested, handlers.on_assignment_requested),
            on(ConsultantSaved, handlers.on_consultant_saved),
            on(LeadCreated, handlers.on_lead_event),
            on(LeadUpdated, handlers.on_lead_event),
            on(LeadAssigned, handlers.on_lead_event),
        ),
    )

    bus.consume(ASSIGNMENT_PRESENCE, by_event_type(on(PresenceSnapshot, handlers.on_presence)))
    bus.serve(
        ASSIGNMENT_RPC,
        rpc_dispatcher(
            {
                "consultant_stats": handlers.consultant_stats,
                "consultant_figures": handlers.consultant_figures,
            }
        ),
    )

    app = FastAPI(title="leadflow assignment", openapi_url=None)
    app.include_router(ops_router("assignment", {"broker": bus.ping, "database": database.ready}))
    hooks = database.hooks(after_bus=[sweep.start], before_stop=[sweep.stop])
    return Assignment(Service(name="assignment", app=app, **hooks), handlers, database)
