"""Test support: a leads service on real PostgreSQL with a bus that records what it publishes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from leadflow.bus import Delivery
from leadflow.db import (
    OutboxRelay,
    create_engine,
    one_statement_engine,
    run_migrations,
    session_factory,
)
from leadflow.settings import normalise_database_url
from leadflow.testing.recording import recording_bus

from leads.app import MIGRATIONS, VERSION_TABLE
from leads.conversations import ConversationHandlers
from leads.handlers import LeadsHandlers
from leads.models import OUTBOX, Consultant


@dataclass
class LeadsUnderTest:
    handlers: LeadsHandlers
    conversations: ConversationHandlers
    relay: OutboxRelay
    published: list[Delivery]

    async def add_consultant(
        self, consultant_id: str, name: str, email: str, phone: str | None = None
    ) -> None:
        """A consultant as the accounts use case would have stored them."""
        async with self.handlers.sessions() as session:
            session.add(
                Consultant(
                    id=consultant_id,
                    name=name,
                    email=email,
                    phone=phone,
                    password_hash="-",
                    role="consultant",
                )
            )
            await session.commit()

    async def flush_outbox(self) -> list[Delivery]:
        """Publish what is pending and return everything published so far."""
        await self.relay.publish_all()
        for _ in range(20):
            await asyncio.sleep(0.005)
        return self.published


@contextlib.asynccontextmanager
async def leads_under_test(
    database_url: str, debounce_ms: int = 0
) -> AsyncIterator[LeadsUnderTest]:
    engine = create_engine(normalise_database_url(database_url))
    await run_migrations(engine, MIGRATIONS, VERSION_TABLE)
    sessions = session_factory(engine)
    bus, published = await recording_bus()
    relay = OutboxRelay(engine, sessions, OUTBOX, bus)
    conversations = ConversationHandlers(
        sessions, relay, debounce_ms=debounce_ms, typing_override_ms=0
    )
    yield LeadsUnderTest(
        LeadsHandlers(sessions, relay, conversations, one_statement_engine(engine)),
        conversations,
        relay,
        published,
    )
    await bus.stop()
    await engine.dispose()
