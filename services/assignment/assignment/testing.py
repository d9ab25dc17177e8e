"""Test support: an assignment service on real PostgreSQL, publishing onto a recording bus."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from leadflow.events import AssignmentDecided, ConsultantSaved
from leadflow.testing.factories import a_consultant
from leadflow.testing.recording import StoreUnderTest, wired_under_test

from assignment.app import wire
from assignment.handlers import AssignmentHandlers


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
async def assigner_under_test(database_url: str, **settings: Any) -> AsyncIterator[Assigner]:
    """The assignment service as its composition root builds it (`wire`), on
    `database_url` (migrated), publishing onto a recording bus; `settings` as Settings'
    field names."""
    async with wired_under_test(wire, database_url, **settings) as (wired, bus):
        handlers = wired.handlers
        yield Assigner(
            handlers,
            StoreUnderTest(
                wired.database.engine, handlers.sessions, handlers.autocommit, handlers.relay, bus
            ),
        )


async def add_consultants(assigner: Assigner, count: int) -> list[str]:
    """Consultants created one minute apart: the rotation's order is theirs."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ids = [f"consultant-{i}" for i in range(count)]
    for i, consultant_id in enumerate(ids):
        created = start + timedelta(minutes=i)
        await assigner.handlers.on_consultant_saved(
            ConsultantSaved(
                consultant=a_consultant(
                    consultant_id, name=f"C{i}", created_at=created, updated_at=created
                )
            )
        )
    return ids
