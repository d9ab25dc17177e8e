"""An installation that kept Lívia's conversations in the leads service upgrades with them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from leadflow.db import create_engine, run_migrations
from leadflow.db.migrate import alembic_config
from leadflow.events import LiviaStage
from leadflow.settings import normalise_database_url
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine
from wa_livia.app import MIGRATIONS, VERSION_TABLE
from wa_livia.testing import livia_under_test, message_to_livia

# The leads service's migrations, as files: wa-livia does not import another service.
LEADS_MIGRATIONS = Path(__file__).resolve().parents[3] / "leads" / "migrations"
LEADS_VERSION_TABLE = "alembic_version_leads"
BEFORE_THE_MOVE = ("0002_auth", "0003_conversations", "0004_messages", "0005_consultant_capacity")

BEFORE = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # the stored lines' first message
STORED = [
    """INSERT INTO consultants (id, name, email, password_hash, role, active,
           created_at, updated_at)
       VALUES ('carla', 'Carla Souza', 'carla@example.com', '-', 'consultant', true,
           now(), now())""",
    """INSERT INTO leads (id, name, phone, source, status, ai_reasons, consultant_id,
           metadata, version, created_at, updated_at)
       VALUES ('lead-1', 'Marina Lopes', '+5511955554444', 'whatsapp', 'QUALIFIED', '[]',
           'carla', '{}', 3, now(), now())""",
    """INSERT INTO conversations (id, lead_id, chat_jid, stage, collected, paused,
           pending_since, handoff_sent, created_at, updated_at)
       VALUES ('conv-1', 'lead-1', '5511955554444@s.whatsapp.net', 'SIMULATION',
           '{"full_name": "Marina Lopes", "asset_type": "property"}', false, null, false,
           now(), now())""",
    """INSERT INTO conversation_lines (id, conversation_id, direction, author, text,
           wa_message_id, answered, sent_at)
       VALUES ('l1', 'conv-1', 'in', 'lead', 'Oi, quero um apartamento', 'WA1', true,
           '2026-11-20T12:00:00Z'),
              ('l2', 'conv-1', 'out', 'livia', 'Olá! Sou a Lívia. Qual o seu nome?', null, true,
           '2026-11-20T12:00:05Z')""",
]


async def leads_schema_before_the_move(engine: AsyncEngine) -> None:
    """The leads service's tables as the previous release left them."""
    config = alembic_config(LEADS_MIGRATIONS, LEADS_VERSION_TABLE)

    def upgrade(connection: Connection) -> None:
        config.attributes["connection"] = connection
        for revision in BEFORE_THE_MOVE:
            command.upgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(upgrade)


async def tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        rows = await connection.exec_driver_sql(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        )
        return {row[0] for row in rows}


async def migrate_both(engine: AsyncEngine, leads_first: bool) -> None:
    """Both services' migrations to their head, in either order."""
    order = [(LEADS_MIGRATIONS, LEADS_VERSION_TABLE), (MIGRATIONS, VERSION_TABLE)]
    for migrations, version_table in order if leads_first else reversed(order):
        await run_migrations(engine, migrations, version_table)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(normalise_database_url(database_url))
    yield engine
    await engine.dispose()


@pytest.mark.parametrize("leads_first", [True, False], ids=["leads-first", "wa-livia-first"])
async def test_an_installation_with_conversations_upgrades_and_keeps_them(
    database_url: str, engine: AsyncEngine, leads_first: bool
) -> None:
    await leads_schema_before_the_move(engine)
    async with engine.begin() as connection:
        for statement in STORED:
            await connection.execute(text(statement))
    await migrate_both(engine, leads_first)
    assert {"conversations", "conversation_lines"}.isdisjoint(await tables(engine))

    async with livia_under_test(database_url) as livia:
        view = await livia.conversations.conversation({"lead_id": "lead-1"})
        assert view is not None
        assert (view["stage"], view["collected"]["full_name"]) == ("SIMULATION", "Marina Lopes")
        assert [(m["author"], m["text"]) for m in view["messages"]] == [
            ("lead", "Oi, quero um apartamento"),
            ("livia", "Olá! Sou a Lívia. Qual o seu nome?"),
        ]
        # She carries on where she was, with the history she had.
        await livia.conversations.on_whatsapp_message(
            message_to_livia("Marina Lopes", "WA2", BEFORE + timedelta(minutes=1))
        )
        published = await livia.flush_outbox()
        [turn] = [d.event() for d in published if d.routing_key == "livia.turn_requested"]
        assert turn.lead_id == "lead-1" and turn.stage is LiviaStage.SIMULATION
        assert [line.text for line in turn.history] == [
            "Oi, quero um apartamento",
            "Olá! Sou a Lívia. Qual o seu nome?",
        ]
        assert livia.leads.by_phone == {}  # a known chat: nothing asked of the leads service
        # WhatsApp redelivers a message stored before the upgrade: stored and answered once.
        await livia.conversations.on_whatsapp_message(
            message_to_livia("Oi, quero um apartamento", "WA1", BEFORE)
        )
        view = await livia.conversations.conversation({"lead_id": "lead-1"})
        assert view is not None and len(view["messages"]) == 3


@pytest.mark.parametrize("leads_first", [True, False], ids=["leads-first", "wa-livia-first"])
async def test_a_new_installation_keeps_no_conversation_tables_in_the_leads_schema(
    engine: AsyncEngine, leads_first: bool
) -> None:
    await migrate_both(engine, leads_first)
    present = await tables(engine)
    assert {"livia_conversations", "livia_messages"} <= present
    assert {"conversations", "conversation_lines"}.isdisjoint(present)
