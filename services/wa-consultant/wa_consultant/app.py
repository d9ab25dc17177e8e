"""Composition root of the wa-consultant service: the WhatsApp session `consultant` and
the consultants' inbox."""

from __future__ import annotations

from pathlib import Path

from leadflow.bus import Bus
from leadflow.bus.topology import AI_RPC, WA_CONSULTANT_INBOX, by_event_type
from leadflow.db import Migrations, ServiceDatabase
from leadflow.events import SessionName
from leadflow.rpc import RpcClient
from leadflow.service import Service
from leadflow.settings import Settings
from leadflow.speech import SpeechToText
from leadflow.whatsapp.session import session_service

from wa_consultant.config import ConsultantSessionSettings
from wa_consultant.handlers import ConsultantSession
from wa_consultant.models import OUTBOX

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
VERSION_TABLE = "alembic_version_wa_consultant"
SERVICE = "wa-consultant"
SCHEMA = Migrations(MIGRATIONS, VERSION_TABLE)


def build(settings: Settings, bus: Bus) -> Service:
    config = ConsultantSessionSettings.of(settings)
    database = ServiceDatabase.of(config, SERVICE, SCHEMA, OUTBOX, bus)
    transport = config.transport(SessionName.CONSULTANT)
    session = ConsultantSession(
        transport,
        bus,
        max_attempts=config.max_deliveries,
        engine=database.engine,
        relay=database.relay,
        transcribe=SpeechToText(RpcClient(bus, AI_RPC, timeout=config.rpc_timeout_s)).transcribe,
    )
    bus.consume(WA_CONSULTANT_INBOX, by_event_type(*session.inbox_routes()))

    return session_service(session, bus, health={"database": database.ready}, **database.hooks())
