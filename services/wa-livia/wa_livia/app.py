"""Composition root of the wa-livia service: the WhatsApp session `livia`."""

from __future__ import annotations

from pathlib import Path

from leadflow.bus import Bus
from leadflow.db import run_migrations
from leadflow.events import SessionName
from leadflow.service import Service
from leadflow.settings import Settings
from leadflow.whatsapp.session import SessionService, make_transport, session_service

from wa_livia.config import LiviaSessionSettings

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
    transport = make_transport(
        SessionName.LIVIA,
        config.whatsapp_transport,
        session_dir=config.whatsapp_session_dir,
        simulated_phone=config.simulated_phone,
        pair_phone=config.pair_phone,
    )
    session = SessionService(SessionName.LIVIA, transport, bus, max_attempts=config.max_deliveries)
    return session_service(session, bus)
