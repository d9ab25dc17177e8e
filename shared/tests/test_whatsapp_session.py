"""A session service retries a failing send, then reports it failed; never drops it."""

from __future__ import annotations

import asyncio

from leadflow.bus import Delivery, InMemoryBus, QueueSpec
from leadflow.bus.topology import session_send_queue
from leadflow.events import MessageStatus, SendConsultantMessage, SessionName
from leadflow.whatsapp.session import SessionService, session_service
from leadflow.whatsapp.simulator import SimulatorTransport


class RefusingTransport(SimulatorTransport):
    """WhatsApp refuses every send (not an outage: trying later changes nothing)."""

    async def send_text(self, chat_jid: str, text: str) -> str:
        raise LookupError("not on WhatsApp")


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
    bus = InMemoryBus(max_deliveries=3)
    session = SessionService(
        SessionName.CONSULTANT, RefusingTransport("+5511900000001"), bus, max_attempts=3
    )
    session_service(session, bus)  # its send queue: the bus retries a failed send
    seen = await statuses_of(bus)
    await session.transport.start(session)
    await bus.publish_event(command())
    await asyncio.wait_for(ARRIVED.wait(), 5)
    dead = await bus.dead_letters(session_send_queue(SessionName.CONSULTANT).name)
    await bus.stop()
    [failed] = [d.event() for d in seen]
    assert (failed.message_id, failed.status, failed.reason) == (  # type: ignore[attr-defined]
        "m1",
        MessageStatus.FAILED,
        "not on WhatsApp",
    )
    assert dead == []  # reported failed on its last delivery, not dead-lettered


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
