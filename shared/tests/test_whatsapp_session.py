"""A session service retries a failing send, then reports it failed; never drops it."""

from __future__ import annotations

import asyncio

import pytest
from leadflow.bus import Delivery, InMemoryBus, QueueSpec
from leadflow.events import MessageStatus, SendConsultantMessage, SessionName
from leadflow.whatsapp.session import SessionService
from leadflow.whatsapp.simulator import SimulatorTransport


class FlakyTransport(SimulatorTransport):
    async def send_text(self, chat_jid: str, text: str) -> str:
        raise ConnectionError("socket closed")


ARRIVED = asyncio.Event()


async def statuses_of(bus: InMemoryBus) -> list[Delivery]:
    seen: list[Delivery] = []

    async def record(delivery: Delivery) -> None:
        seen.append(delivery)
        ARRIVED.set()

    bus.consume(QueueSpec("statuses", ("whatsapp.message_status_changed",)), record)
    await bus.start()
    return seen


def command() -> SendConsultantMessage:
    return SendConsultantMessage(
        message_id="m1", chat_jid="5511987654321@s.whatsapp.net", text="Olá", sender="c1"
    )


async def test_a_send_that_keeps_failing_is_retried_then_marked_failed_with_the_reason() -> None:
    bus = InMemoryBus()
    seen = await statuses_of(bus)
    session = SessionService(
        SessionName.CONSULTANT, FlakyTransport("+5511900000001"), bus, max_attempts=3
    )
    await session.transport.start(session)
    for attempt in (1, 2):
        with pytest.raises(ConnectionError):
            await session.on_send(command(), attempt=attempt)  # the bus retries it
    await session.on_send(command(), attempt=3)
    await asyncio.wait_for(ARRIVED.wait(), 5)
    await bus.stop()
    [failed] = [d.event() for d in seen]
    assert (failed.message_id, failed.status, failed.reason) == (  # type: ignore[attr-defined]
        "m1",
        MessageStatus.FAILED,
        "socket closed",
    )


async def test_a_sent_message_is_not_sent_again_when_redelivered() -> None:
    bus = InMemoryBus()
    await statuses_of(bus)
    transport = SimulatorTransport("+5511900000001")
    session = SessionService(SessionName.CONSULTANT, transport, bus, max_attempts=3)
    await transport.start(session)
    await session.on_send(command())
    await session.on_send(command())
    await bus.stop()
    assert [m.text for m in transport.outbox] == ["Olá"]
