"""Composition root of the wa-livia service: Lívia's WhatsApp session and her conversations."""

from __future__ import annotations

from pathlib import Path

from leadflow.bus import Bus
from leadflow.bus.topology import AI_RPC, LEADS_RPC, WA_LIVIA_CONVERSATIONS, by_event_type
from leadflow.bus.topology import session_endpoint as endpoint
from leadflow.db import Migrations, ServiceDatabase, session_factory
from leadflow.events import SessionName
from leadflow.rpc import RpcClient
from leadflow.service import Service
from leadflow.settings import Settings
from leadflow.speech import SpeechToText
from leadflow.whatsapp.session import session_service

from wa_livia.config import LiviaSessionSettings
from wa_livia.conversations import ConversationHandlers
from wa_livia.models import OUTBOX
from wa_livia.peers import ConsultantSession, LeadsService
from wa_livia.session import LiviaSession

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
VERSION_TABLE = "alembic_version_wa_livia"
SCHEMA = Migrations(MIGRATIONS, VERSION_TABLE)


def build(settings: Settings, bus: Bus) -> Service:
    config = LiviaSessionSettings.of(settings)
    database = ServiceDatabase.of(config, "wa-livia", SCHEMA, OUTBOX, bus)

    def rpc(name: str, timeout: float | None = None) -> RpcClient:
        return RpcClient(bus, name, timeout=timeout or config.rpc_timeout_s)

    conversations = ConversationHandlers(
        sessions=session_factory(database.engine),
        relay=database.relay,
        leads=LeadsService(rpc(LEADS_RPC)),
        # A hand-off is not held up long by a consultant session that does not answer.
        consultant_number=ConsultantSession(
            rpc(endpoint(SessionName.CONSULTANT), timeout=min(2.0, config.rpc_timeout_s))
        ).number,
        debounce_ms=config.livia_debounce_ms,
        typing_override_ms=config.livia_typing_delay_ms,
    )
    transport = config.transport(SessionName.LIVIA)
    session = LiviaSession(
        transport,
        bus,
        max_attempts=config.max_deliveries,
        conversations=conversations,
        transcribe=SpeechToText(rpc(AI_RPC)).transcribe,
    )
    bus.consume(WA_LIVIA_CONVERSATIONS, by_event_type(*conversations.routes()))

    hooks = database.hooks(
        before_bus=[conversations.load],
        after_bus=[conversations.start],
        before_stop=[conversations.stop],
    )
    return session_service(session, bus, health={"database": database.ready}, **hooks)
