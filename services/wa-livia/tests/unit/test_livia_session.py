"""wa-livia, built through its composition root: Lívia's number in and out of the broker."""

from __future__ import annotations

import asyncio

from leadflow.bus import Delivery, InMemoryBus, QueueSpec
from leadflow.bus.topology import session_endpoint
from leadflow.events import (
    MessageStatus,
    SendLiviaMessage,
    SessionName,
    WhatsAppMessageReceived,
    WhatsAppMessageStatusChanged,
)
from leadflow.rpc import RpcClient
from leadflow.settings import Settings
from leadflow.whatsapp import phone_jid
from wa_livia.app import build

PHONE = "+5511987654321"


async def test_what_livias_number_receives_is_published_and_her_messages_go_out() -> None:
    bus = InMemoryBus()
    seen: list[Delivery] = []
    arrived = asyncio.Event()

    async def record(delivery: Delivery) -> None:
        seen.append(delivery)
        if len(seen) >= 3:  # received, sent, delivered
            arrived.set()

    bus.consume(
        QueueSpec("test.seen", ("whatsapp.message_received", "whatsapp.message_status_changed")),
        record,
    )
    service = build(Settings(), bus)
    await bus.start()
    for hook in service.after_bus:
        await hook()
    livia = RpcClient(bus, session_endpoint(SessionName.LIVIA), timeout=5)
    try:
        await livia.call("inject", phone=PHONE, text="Oi, quero financiar um carro")
        await bus.publish_event(
            SendLiviaMessage(
                message_id="m1", chat_jid=phone_jid(PHONE), text="Olá! Sou a Lívia.", sender="livia"
            )
        )
        await asyncio.wait_for(arrived.wait(), 5)
        outbox = await livia.call("outbox", to=PHONE)
    finally:
        for hook in service.before_stop:
            await hook()
        await bus.stop()

    events = [d.event() for d in seen]
    [received] = [e for e in events if isinstance(e, WhatsAppMessageReceived)]
    assert (received.session, received.phone, received.chat_jid, received.text) == (
        SessionName.LIVIA,
        PHONE,
        phone_jid(PHONE),
        "Oi, quero financiar um carro",
    )
    statuses = [e.status for e in events if isinstance(e, WhatsAppMessageStatusChanged)]
    assert statuses == [MessageStatus.SENT, MessageStatus.DELIVERED]
    assert [m["text"] for m in outbox] == ["Olá! Sou a Lívia."]
