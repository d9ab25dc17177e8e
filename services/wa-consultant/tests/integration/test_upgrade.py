"""An installation whose inbox lived in the leads service upgrades: the rows come along."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import asyncpg
from leadflow.db import OutboxRelay, create_engine, run_migrations
from leadflow.settings import normalise_database_url
from leadflow.testing.recording import RecordingBus
from leadflow.testing.services import plain_postgres_url
from leadflow.whatsapp import phone_jid
from leadflow.whatsapp.simulator import SimulatorTransport
from wa_consultant.app import MIGRATIONS, VERSION_TABLE
from wa_consultant.handlers import ConsultantSession
from wa_consultant.models import OUTBOX

from .conftest import AT

# The leads service's own migrations, as an installation before the move ran them.
LEADS_MIGRATIONS = Path(__file__).resolve().parents[3] / "leads" / "migrations"
ANA, BIA = ("ana", "+5511955550001"), ("bia", "+5511955550002")
RUI, ZE = "+5511987650001", "+5511987650002"


async def an_installation_before_the_move(url: str) -> None:
    engine = create_engine(normalise_database_url(url))
    try:
        await run_migrations(engine, LEADS_MIGRATIONS, "alembic_version_leads")
    finally:
        await engine.dispose()
    db = await asyncpg.connect(plain_postgres_url(url))
    try:
        for consultant_id, phone in (ANA, BIA):
            await db.execute(
                "INSERT INTO consultants (id, name, email, password_hash, role, phone, active,"
                " created_at, updated_at) VALUES ($1, $1, $2, '-', 'consultant', $3, true, $4, $4)",
                consultant_id,
                f"{consultant_id}@x.com",
                phone,
                AT,
            )
        for lead_id, name, phone, owner in (("l1", "Rui", RUI, "ana"), ("l2", "Zé", ZE, "bia")):
            await db.execute(
                "INSERT INTO leads (id, name, phone, source, status, ai_reasons, consultant_id,"
                " metadata, version, created_at, updated_at) VALUES ($1, $2, $3, 'manual',"
                " 'NEW', '[]', $4, '{}', 3, $5, $5)",
                lead_id,
                name,
                phone,
                owner,
                AT,
            )
        rows = [
            (
                "wa:1",
                "consultant",
                RUI,
                "l1",
                "in",
                "Rui",
                "Oi, tem apartamento?",
                "W1",
                "delivered",
                False,
                0,
            ),
            ("m2", "consultant", RUI, "l1", "out", "ana", "Tem sim!", "W2", "read", True, 1),
            ("m3", "consultant", ZE, "l2", "out", "bia", "Bom dia, Zé", "W3", "sent", True, 2),
            (
                "n4",
                "consultant",
                BIA[1],
                "l2",
                "out",
                "system",
                "Novo lead para você: Zé",
                "W4",
                "delivered",
                True,
                3,
            ),
            ("wa:5", "consultant", BIA[1], None, "in", "Bia", "ok!", "W5", "delivered", False, 4),
            ("l6", "livia", ZE, "l2", "out", "livia", "Oi, sou a Lívia", "W6", "read", True, 0),
        ]
        # Each row: id, session, phone, then the columns as the INSERT names them, minutes.
        for mid, session, phone, *columns, minutes in rows:
            await db.execute(
                "INSERT INTO messages (id, session, chat_jid, phone, lead_id, direction,"
                " sender, text, wa_message_id, status, read, sent_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                mid,
                session,
                phone_jid(phone),
                phone,
                *columns,
                AT + timedelta(minutes=minutes),
            )
    finally:
        await db.close()


async def test_the_upgrade_carries_the_consultant_inbox_and_keeps_notices_out_of_it(
    database_url: str,
) -> None:
    await an_installation_before_the_move(database_url)
    engine = create_engine(normalise_database_url(database_url))
    bus = RecordingBus()
    try:
        await run_migrations(engine, MIGRATIONS, VERSION_TABLE)
        session = ConsultantSession(
            SimulatorTransport("+5511900000001"),
            bus,
            max_attempts=3,
            engine=engine,
            relay=OutboxRelay(engine, OUTBOX, bus),
        )
        rpc = session.methods()
        ana = {"id": "ana", "role": "consultant"}
        chats = await rpc["list_chats"]({"actor": {"id": "admin", "role": "admin"}})
        assert [(c["name"], c["last_message"], c["unread_count"]) for c in chats] == [
            ("Zé", "Bom dia, Zé", 0),
            ("Rui", "Tem sim!", 1),
        ]
        assert [c["lead_id"] for c in await rpc["list_chats"]({"actor": ana})] == ["l1"]
        history = await rpc["chat_messages"]({"actor": ana, "jid": phone_jid(RUI)})
        assert [(m["direction"], m["text"], m["status"]) for m in history] == [
            ("in", "Oi, tem apartamento?", "delivered"),
            ("out", "Tem sim!", "read"),
        ]
        notices = await rpc["list_notices"]({"consultant_id": "bia"})
        assert {n["text"] for n in notices} == {"Novo lead para você: Zé", "ok!"}
    finally:
        await engine.dispose()
