"""Test support: an assignment service on real PostgreSQL, publishing onto a recording bus."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from leadflow.events import AssignmentDecided, ConsultantSaved, ConsultantView, Role
from leadflow.testing.recording import StoreUnderTest, store_under_test

from assignment.app import MIGRATIONS, VERSION_TABLE
from assignment.handlers import AssignmentHandlers
from assignment.models import OUTBOX


@dataclass
class Assigner:
    handlers: AssignmentHandlers
    store: StoreUnderTest

    async def decisions(self) -> list[AssignmentDecided]:
        """Every decision the relay published so far."""
        published = await self.store.flush_outbox()
        events = [d.event() for d in published if d.routing_key == "assignment.decided"]
        return [e for e in events if isinstance(e, AssignmentDecided)]


@contextlib.asynccontextmanager
async def assigner_under_test(database_url: str) -> AsyncIterator[Assigner]:
    """An assignment service on `database_url` (migrated), its relay publishing onto a
    recording bus."""
    async with store_under_test(database_url, MIGRATIONS, VERSION_TABLE, OUTBOX) as store:
        handlers = AssignmentHandlers(
            sessions=store.sessions, relay=store.relay, autocommit=store.autocommit
        )
        yield Assigner(handlers, store)


async def add_consultants(assigner: Assigner, count: int) -> list[str]:
    """Consultants created one minute apart: the rotation's order is theirs."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ids = [f"consultant-{i}" for i in range(count)]
    for i, consultant_id in enumerate(ids):
        created = start + timedelta(minutes=i)
        await assigner.handlers.on_consultant_saved(
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
    return ids
