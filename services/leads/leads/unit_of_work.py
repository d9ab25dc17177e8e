"""What every use case of the leads service shares: who calls, and commit-with-events."""

from __future__ import annotations

from leadflow.db import OutboxRelay, add_to_outbox
from leadflow.events import Event, Role
from pydantic import BaseModel
from sqlmodel.ext.asyncio.session import AsyncSession

from leads.models import OUTBOX


class Actor(BaseModel):
    """Who is calling, as the gateway authenticated them."""

    id: str
    role: Role


async def commit_with_events(session: AsyncSession, relay: OutboxRelay, *events: Event) -> None:
    """Stage `events` in the outbox, commit them with the change, wake the relay."""
    await add_to_outbox(session, OUTBOX, *events)
    await session.commit()
    if events:
        relay.wake()
