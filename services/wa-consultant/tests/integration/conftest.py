from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
from leadflow.events import (
    ConsultantSaved,
    Event,
    LeadAssigned,
)
from leadflow.speech import Transcriber
from leadflow.testing.factories import a_consultant, a_lead
from leadflow.testing.recording import StoreUnderTest, store_under_test
from leadflow.whatsapp.simulator import SimulatorTransport
from wa_consultant.app import MIGRATIONS, VERSION_TABLE
from wa_consultant.handlers import ConsultantSession
from wa_consultant.models import OUTBOX

AT = datetime(2026, 1, 1, 12, tzinfo=UTC)
ADMIN = {"id": "admin-1", "role": "admin"}
T = TypeVar("T")


@dataclass
class Inbox:
    session: ConsultantSession
    transport: SimulatorTransport
    store: StoreUnderTest

    async def published(self) -> list[Event]:
        """What the inbox staged in its outbox and the relay published (not the session
        status, which the plumbing publishes directly)."""
        events = [d.event() for d in await self.store.flush_outbox()]
        return [e for e in events if e.name != "whatsapp.session_status_changed"]

    async def lead(self, lead_id: str, phone: str, consultant_id: str | None, name: str) -> None:
        view = a_lead(id=lead_id, phone=phone, consultant_id=consultant_id, name=name, version=2)
        await self.session.on_lead(LeadAssigned(lead=view, rule="manual"))

    async def consultant(self, consultant_id: str, phone: str | None) -> None:
        view = a_consultant(consultant_id, phone=phone, created_at=AT, updated_at=AT)
        await self.session.on_consultant(ConsultantSaved(consultant=view))

    async def call(self, method: str, **params: Any) -> Any:
        return await self.session.methods()[method](params)


async def within(seconds: float, found: Callable[[], Awaitable[T | None]]) -> T:
    """What `found` returns once it returns something, waiting at most `seconds`."""
    deadline = asyncio.get_running_loop().time() + seconds
    while (result := await found()) is None:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("nothing arrived before the deadline")
        await asyncio.sleep(0.01)
    return result


async def words_of(audio: bytes, mime_type: str | None) -> str | None:
    """Speech-to-text in tests, as the fake Groq hears it: a voice note's bytes are its
    words; bytes that are not text were not heard."""
    try:
        return audio.decode()
    except UnicodeDecodeError:
        return None


async def started_session(
    store: StoreUnderTest, transport: SimulatorTransport, transcribe: Transcriber | None = None
) -> ConsultantSession:
    """A consultant session on `store`, its transport started; a second one is the service
    after a restart (nothing of the first in memory)."""
    session = ConsultantSession(
        transport,
        store.bus,
        max_attempts=3,
        engine=store.engine,
        relay=store.relay,
        transcribe=transcribe,
    )
    await transport.start(session)
    return session


@pytest.fixture
async def inbox(database_url: str) -> AsyncIterator[Inbox]:
    async with store_under_test(database_url, MIGRATIONS, VERSION_TABLE, OUTBOX) as store:
        transport = SimulatorTransport("+5511900000001")
        session = await started_session(store, transport, words_of)
        yield Inbox(session, transport, store)
