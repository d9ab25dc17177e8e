"""A voice note reaches a WhatsApp session's service as its transcript, from ai over the bus."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from leadflow.bus import Delivery, InMemoryBus, QueueSpec
from leadflow.bus.topology import AI_RPC
from leadflow.events import SessionName, WhatsAppMessageReceived
from leadflow.rpc import RpcClient, rpc_dispatcher
from leadflow.speech import SpeechToText
from leadflow.whatsapp.session import SessionService
from leadflow.whatsapp.simulator import SimulatorTransport

PHONE = "+5511987654321"


def ai_answering(bus: InMemoryBus, *answers: dict[str, Any]) -> list[dict[str, Any]]:
    """Serves ai's `transcribe` with `answers`, in turn; returns the requests it got."""
    asked: list[dict[str, Any]] = []
    script = list(answers)

    async def transcribe(params: dict[str, Any]) -> dict[str, Any]:
        asked.append(params)
        return script.pop(0)

    bus.serve(AI_RPC, rpc_dispatcher({"transcribe": transcribe}))
    return asked


async def test_a_voice_note_is_its_transcript_or_none_when_it_could_not_be_heard() -> None:
    bus = InMemoryBus()
    asked = ai_answering(
        bus,
        {"transcribed": True, "text": " quero um carro ", "model": "whisper"},
        {"transcribed": False, "text": "", "reason": "unavailable"},
        {"transcribed": True, "text": "   "},
    )
    await bus.start()
    speech = SpeechToText(RpcClient(bus, AI_RPC, timeout=2))
    heard = [await speech.transcribe(b"OggS", "audio/ogg; codecs=opus") for _ in range(3)]
    silent = SpeechToText(RpcClient(bus, "nobody", timeout=0.1))  # ai does not answer
    heard.append(await silent.transcribe(b"OggS", None))
    await bus.stop()
    assert heard == ["quero um carro", None, None, None]
    assert (asked[0]["audio_b64"], asked[0]["mime_type"]) == ("T2dnUw==", "audio/ogg; codecs=opus")


async def test_a_session_publishes_a_voice_note_with_its_transcript_not_its_audio() -> None:
    bus = InMemoryBus()
    ai_answering(bus, {"transcribed": True, "text": "pode me ligar amanhã"})
    received: list[Delivery] = []
    arrived = asyncio.Event()

    async def record(delivery: Delivery) -> None:
        received.append(delivery)
        arrived.set()

    bus.consume(QueueSpec("received", ("whatsapp.message_received",)), record)
    await bus.start()
    transport = SimulatorTransport("+5511900000001")
    speech = SpeechToText(RpcClient(bus, AI_RPC, timeout=2))
    session = SessionService(
        SessionName.CONSULTANT, transport, bus, max_attempts=3, transcribe=speech.transcribe
    )
    await transport.start(session)
    audio_b64 = base64.b64encode(b"OggS voice").decode()
    await session.inject({"phone": PHONE, "audio_b64": audio_b64})
    await asyncio.wait_for(arrived.wait(), 5)
    await bus.stop()
    [event] = [d.event() for d in received]
    assert isinstance(event, WhatsAppMessageReceived)
    assert (event.media_type, event.transcript) == ("audio", "pode me ligar amanhã")
    assert audio_b64.encode() not in received[0].body  # the audio stays in the session
