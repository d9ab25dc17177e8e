"""wa-livia, built through its composition root on real PostgreSQL and an in-memory bus:
Lívia's number in and out of the broker, a voice note transcribed, her conversation kept.

The services around it (leads, ai) answer on the bus as small stand-ins."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from typing import Any

import pytest
from leadflow.bus import Delivery, InMemoryBus, QueueSpec
from leadflow.bus.topology import AI_RPC, LEADS_RPC, session_endpoint
from leadflow.events import (
    LiviaTurnRequested,
    MessageStatus,
    SendLiviaMessage,
    SessionName,
    WhatsAppMessageReceived,
    WhatsAppMessageStatusChanged,
)
from leadflow.rpc import RpcClient, ServiceError, rpc_dispatcher
from leadflow.whatsapp import phone_jid
from wa_livia.app import build
from wa_livia.config import LiviaSessionSettings

PHONE = "+5511987654321"


async def lead_for_whatsapp(params: dict[str, Any]) -> dict[str, Any]:
    return {"id": "lead-1", "name": params["push_name"] or params["phone"]}


async def transcribe(params: dict[str, Any]) -> dict[str, Any]:
    words = base64.b64decode(params["audio_b64"]).decode()
    return {"transcribed": True, "text": words, "model": "whisper-fake"}


class Running:
    def __init__(self, bus: InMemoryBus) -> None:
        self.bus = bus
        self.seen: list[Delivery] = []
        self.arrived = asyncio.Condition()
        self.livia = RpcClient(bus, session_endpoint(SessionName.LIVIA), timeout=5)

    def events(self, kind: type[Any]) -> list[Any]:
        return [e for e in (d.event() for d in self.seen) if isinstance(e, kind)]

    async def until(self, kind: type[Any], count: int) -> list[Any]:
        async with self.arrived:
            await asyncio.wait_for(
                self.arrived.wait_for(lambda: len(self.events(kind)) >= count), 10
            )
        return self.events(kind)


@pytest.fixture
async def running(database_url: str) -> AsyncIterator[Running]:
    bus = InMemoryBus()
    running = Running(bus)

    async def record(delivery: Delivery) -> None:
        async with running.arrived:
            running.seen.append(delivery)
            running.arrived.notify_all()

    bus.consume(
        QueueSpec(
            "test.seen",
            (
                "whatsapp.message_received",
                "whatsapp.message_status_changed",
                "livia.turn_requested",
            ),
        ),
        record,
    )
    bus.serve(LEADS_RPC, rpc_dispatcher({"lead_for_whatsapp": lead_for_whatsapp}))
    bus.serve(AI_RPC, rpc_dispatcher({"transcribe": transcribe}))
    service = build(LiviaSessionSettings(database_url=database_url, livia_debounce_ms=0), bus)
    for hook in service.before_bus:
        await hook()
    await bus.start()
    for hook in service.after_bus:
        await hook()
    try:
        yield running
    finally:
        for hook in service.before_stop:
            await hook()
        await bus.stop()
        for hook in service.on_stop:
            await hook()


async def test_what_livias_number_receives_is_published_and_her_messages_go_out(
    running: Running,
) -> None:
    await running.livia.call("inject", phone=PHONE, text="Oi, quero financiar um carro")
    await running.bus.publish_event(
        SendLiviaMessage(
            message_id="m1", chat_jid=phone_jid(PHONE), text="Olá! Sou a Lívia.", sender="livia"
        )
    )
    [received] = await running.until(WhatsAppMessageReceived, 1)
    statuses = await running.until(WhatsAppMessageStatusChanged, 2)
    assert (received.session, received.phone, received.chat_jid, received.text) == (
        SessionName.LIVIA,
        PHONE,
        phone_jid(PHONE),
        "Oi, quero financiar um carro",
    )
    assert [s.status for s in statuses] == [MessageStatus.SENT, MessageStatus.DELIVERED]
    outbox = await running.livia.call("outbox", to=PHONE)
    assert [m["text"] for m in outbox] == ["Olá! Sou a Lívia."]


async def test_a_voice_note_becomes_its_transcript_in_the_event_the_turn_and_the_transcript(
    running: Running,
) -> None:
    words = "quero financiar um apartamento"
    await running.livia.call(
        "inject", phone=PHONE, audio_b64=base64.b64encode(words.encode()).decode(), push_name="Ana"
    )
    [received] = await running.until(WhatsAppMessageReceived, 1)
    assert (received.media_type, received.text, received.transcript) == ("audio", "[audio]", words)
    [turn] = await running.until(LiviaTurnRequested, 1)
    assert (turn.lead_id, turn.new_messages) == ("lead-1", [words])
    conversation = await running.livia.call("conversation", lead_id="lead-1")
    [message] = conversation["messages"]
    assert (message["media_type"], message["transcript"]) == ("audio", words)


async def test_an_injected_message_needs_text_or_audio_and_changes_nothing_otherwise(
    running: Running,
) -> None:
    for bad in ({}, {"text": "oi", "audio_b64": "b2k="}, {"audio_b64": "not base64!"}):
        with pytest.raises(ServiceError) as refused:
            await running.livia.call("inject", phone=PHONE, **bad)
        assert refused.value.code == "validation_error"
    assert await running.livia.call("conversation", lead_id="lead-1") is None
