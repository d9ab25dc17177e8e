"""Test support: an assignment service on real PostgreSQL, publishing onto a recording bus."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from leadflow.bus import Delivery
from leadflow.db import (
    OutboxRelay,
    create_engine,
    one_statement_engine,
    run_migrations,
    session_factory,
)
from leadflow.events import AssignmentDecided, ConsultantSaved, ConsultantView, Event, Role
from leadflow.settings import normalise_database_url
from leadflow.testing.recording import recording_bus

from assignment.app import MIGRATIONS, VERSION_TABLE
from assignment.handlers import AssignmentHandlers
from assignment.models import OUTBOX


@dataclass
class Assigner:
    handlers: AssignmentHandlers
    published: list[Delivery]

    async def decisions(self) -> list[AssignmentDecided]:
        """Every decision the relay published so far."""
        await self.handlers.relay.publish_all()
        for _ in range(50):  # the in-memory bus hands deliveries over on the next turns
            await asyncio.sleep(0)
        events = [d.event() for d in self.published if d.routing_key == "assignment.decided"]
        return [e for e in events if isinstance(e, AssignmentDecided)]


@contextlib.asynccontextmanager
async def assigner_under_test(database_url: str) -> AsyncIterator[Assigner]:
    """An assignment service on `database_url` (migrated), its relay publishing onto a
    recording bus."""
    engine = create_engine(normalise_database_url(database_url))
    await run_migrations(engine, MIGRATIONS, VERSION_TABLE)
    bus, published = await recording_bus()
    sessions = session_factory(engine)
    handlers = AssignmentHandlers(
        sessions=sessions,
        relay=OutboxRelay(engine, sessions, OUTBOX, bus),
        autocommit=one_statement_engine(engine),
    )
    yield Assigner(handlers, published)
    await bus.stop()
    await engine.dispose()


def delivery(event: Event) -> Delivery:
    return Delivery(routing_key=event.name, body=event.model_dump_json().encode())


async def add_consultants(assigner: Assigner, count: int) -> list[str]:
    """Consultants created one minute apart: the rotation's order is theirs."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ids = [f"consultant-{i}" for i in range(count)]
    for i, consultant_id in enumerate(ids):
        created = start + timedelta(minutes=i)
        await assigner.handlers.on_consultant_saved(
            delivery(
                ConsultantSaved(
                    consultant=ConsultantView(
                        id=consultant_id,
                        name=f"C{i}",
                        email=f"c{i}@example.com",
                        role=Role.CONSULTANT,
                        active=True,
                        created_at=created,
                        updated_at=created,
                    )
                )
            )
        )
    return ids
