"""Composition root of the wa-livia service: Lívia's WhatsApp session and her conversations."""

from __future__ import annotations

from pathlib import Path

from leadflow.bus import Bus
from leadflow.bus.topology import AI_RPC, LEADS_RPC, WA_LIVIA_CONVERSATIONS, by_routing_key
from leadflow.bus.topology import session_endpoint as endpoint
from leadflow.db import OutboxRelay, run_migrations, session_factory
from leadflow.events import SessionName
from leadflow.rpc import RpcClient
from leadflow.service import Service
from leadflow.settings import Settings
from leadflow.whatsapp.session import make_transport, session_service

from wa_livia.config import LiviaSessionSettings
from wa_livia.conversations import ConversationHandlers
from wa_livia.models import OUTBOX
from wa_livia.peers import ConsultantSession, LeadsService, SpeechToText
from wa_livia.session import LiviaSession

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
VERSION_TABLE = "alembic_version_wa_livia"


async def migrate(settings: Settings) -> None:
    engine = settings.engine_for("wa-livia")
    try:
        await run_migrations(engine, MIGRATIONS, VERSION_TABLE)
    finally:
        await engine.dispose()


def build(settings: Settings, bus: Bus) -> Service:
    config = LiviaSessionSettings.of(settings)
    engine = config.engine_for("wa-livia")
    relay = OutboxRelay(engine, OUTBOX, bus)

    def rpc(name: str, timeout: float | None = None) -> RpcClient:
        return RpcClient(bus, name, timeout=timeout or config.rpc_timeout_s)

    conversations = ConversationHandlers(
        sessions=session_factory(engine),
        relay=relay,
        leads=LeadsService(rpc(LEADS_RPC)),
        # A hand-off is not held up long by a consultant session that does not answer.
        consultant_number=ConsultantSession(
            rpc(endpoint(SessionName.CONSULTANT), timeout=min(2.0, config.rpc_timeout_s))
        ).number,
        debounce_ms=config.livia_debounce_ms,
        typing_override_ms=config.livia_typing_delay_ms,
    )
    transport = make_transport(
        SessionName.LIVIA,
        config.whatsapp_transport,
        session_dir=config.whatsapp_session_dir,
        simulated_phone=config.simulated_phone,
        pair_phone=config.pair_phone,
    )
    session = LiviaSession(
        transport,
        bus,
        max_attempts=config.max_deliveries,
        conversations=conversations,
        transcribe=SpeechToText(rpc(AI_RPC)).transcribe,
    )
    bus.consume(
        WA_LIVIA_CONVERSATIONS,
        by_routing_key(
            {
                "whatsapp.message_received": conversations.on_whatsapp_message,
                "livia.turn_decided": conversations.on_turn_decided,
                "lead.assigned": conversations.on_lead_assigned,
            }
        ),
    )

    async def database_ready() -> bool:
        async with engine.connect() as connection:
            await connection.exec_driver_sql("SELECT 1")
        return True

    async def prepare() -> None:
        if config.migrate_on_start:
            await run_migrations(engine, MIGRATIONS, VERSION_TABLE)

    async def started() -> None:
        await relay.start()
        await conversations.start()

    async def stopped() -> None:
        await engine.dispose()

    return session_service(
        session,
        bus,
        health={"database": database_ready},
        before_bus=[prepare],
        after_start=[started],
        before_stop=[conversations.stop, relay.stop],
        on_stop=[stopped],
    )
