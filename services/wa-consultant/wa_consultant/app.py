"""Composition root of the wa-consultant service: the WhatsApp session `consultant` and
the consultants' inbox."""

from __future__ import annotations

from pathlib import Path

from leadflow.bus import Bus
from leadflow.bus.topology import WA_CONSULTANT_INBOX, by_event_type, on
from leadflow.db import OutboxRelay, run_migrations
from leadflow.events import ConsultantSaved, LeadAssigned, LeadCreated, LeadUpdated, SessionName
from leadflow.service import Service
from leadflow.settings import Settings
from leadflow.whatsapp.session import make_transport, session_service

from wa_consultant.config import ConsultantSessionSettings
from wa_consultant.handlers import ConsultantSession
from wa_consultant.models import OUTBOX

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
VERSION_TABLE = "alembic_version_wa_consultant"
SERVICE = "wa-consultant"


async def migrate(settings: Settings) -> None:
    engine = settings.engine_for(SERVICE)
    try:
        await run_migrations(engine, MIGRATIONS, VERSION_TABLE)
    finally:
        await engine.dispose()


def build(settings: Settings, bus: Bus) -> Service:
    config = ConsultantSessionSettings.of(settings)
    engine = config.engine_for(SERVICE)
    relay = OutboxRelay(engine, OUTBOX, bus)
    transport = make_transport(
        SessionName.CONSULTANT,
        config.whatsapp_transport,
        session_dir=config.whatsapp_session_dir,
        simulated_phone=config.simulated_phone,
        pair_phone=config.pair_phone,
    )
    session = ConsultantSession(
        transport, bus, max_attempts=config.max_deliveries, engine=engine, relay=relay
    )
    bus.consume(
        WA_CONSULTANT_INBOX,
        by_event_type(
            on(LeadCreated, session.on_lead),
            on(LeadUpdated, session.on_lead),
            on(LeadAssigned, session.on_lead),
            on(ConsultantSaved, session.on_consultant),
        ),
    )

    async def database_ready() -> bool:
        async with engine.connect() as connection:
            await connection.exec_driver_sql("SELECT 1")
        return True

    async def prepare() -> None:
        if config.migrate_on_start:
            await run_migrations(engine, MIGRATIONS, VERSION_TABLE)

    async def stopped() -> None:
        await engine.dispose()

    return session_service(
        session,
        bus,
        health={"database": database_ready},
        before_bus=[prepare],
        after_start=[relay.start],
        before_stop=[relay.stop],
        on_stop=[stopped],
    )
