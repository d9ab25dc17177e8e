"""Test support: a leads service on real PostgreSQL with a bus that records what it publishes
(only for the tests: not shipped in the `leads` package)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from leadflow.testing.recording import StoreUnderTest, wired_under_test
from leads.accounts.models import Consultant
from leads.app import wire
from leads.handlers import LeadsHandlers
from leads.livia_leads import LiviaLeadHandlers


@dataclass
class LeadsUnderTest(StoreUnderTest):
    handlers: LeadsHandlers
    livia_leads: LiviaLeadHandlers

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
        database, handlers = wired.database, wired.handlers
        yield LeadsUnderTest(
            database.engine,
            wired.sessions,
            handlers.autocommit,
            database.relay,
            bus,
            handlers,
            wired.livia_leads,
        )
