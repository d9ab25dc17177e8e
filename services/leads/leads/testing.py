"""Test support: a leads service on real PostgreSQL with a bus that records what it publishes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from leadflow.bus import Delivery
from leadflow.db import OutboxRelay
from leadflow.testing.recording import RecordingBus, wired_under_test
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from leads.app import wire
from leads.handlers import LeadsHandlers
from leads.livia_leads import LiviaLeadHandlers
from leads.models import Consultant


@dataclass
class LeadsUnderTest:
    handlers: LeadsHandlers
    livia_leads: LiviaLeadHandlers
    # For reading the service's tables as a test checks them.
    sessions: async_sessionmaker[AsyncSession]
    relay: OutboxRelay
    bus: RecordingBus

    @property
    def published(self) -> list[Delivery]:
        """Every delivery the relay published so far, in order."""
        return self.bus.published

    async def flush_outbox(self) -> list[Delivery]:
        """Publish what is pending and return everything published so far."""
        await self.relay.publish_all()
        return self.published

    async def add_consultant(
        self, consultant_id: str, name: str, email: str, phone: str | None = None
    ) -> None:
        """A consultant as the accounts use case would have stored them."""
        async with self.sessions() as session:
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


@contextlib.asynccontextmanager
async def leads_under_test(database_url: str) -> AsyncIterator[LeadsUnderTest]:
    """The leads service as its composition root builds it (`wire`), on `database_url`
    (migrated), publishing onto a recording bus."""
    async with wired_under_test(wire, database_url) as (wired, bus):
        yield LeadsUnderTest(
            wired.handlers, wired.livia_leads, wired.sessions, wired.database.relay, bus
        )
