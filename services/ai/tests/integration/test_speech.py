"""Speech-to-text: the real groq client against the fake Groq server, then over the bus."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import groq
import pytest
from ai.app import build
from ai.config import AiSettings
from ai.groq_gateway import CircuitBreaker, GroqSpeech
from leadflow.bus.rabbit import RabbitBus
from leadflow.bus.topology import AI_RPC
from leadflow.events import (
    MAX_AUDIO_BYTES,
    TRANSCRIBE_METHOD,
    AudioTranscription,
    NotTranscribedReason,
)
from leadflow.rpc import RpcClient, ServiceError
from leadflow.testing.fake_groq import FakeGroq, Reply, transcript

VOICE = "oi livia, meu nome é joão e quero financiar um apartamento de 400 mil".encode()


def speech(fake: FakeGroq, **kwargs: Any) -> GroqSpeech:
    client = groq.AsyncGroq(
        api_key="test",
        base_url=fake.base_url,
        timeout=kwargs.pop("timeout", 3.0),
        max_retries=kwargs.pop("max_retries", 2),
    )
    return GroqSpeech(client, "whisper-test", **kwargs)


async def test_a_voice_note_is_transcribed_with_the_configured_model_in_portuguese(
    fake: FakeGroq,
) -> None:
    result = await speech(fake).transcribe(VOICE, "audio/ogg; codecs=opus")
    assert result == AudioTranscription(
        transcribed=True,
        text="oi livia, meu nome é joão e quero financiar um apartamento de 400 mil",
        model="whisper-test",
    )
    [request] = fake.audio_requests
    assert request["model"] == "whisper-test" and request["language"] == "pt"
    assert request["file"] == VOICE
    assert request["filename"] == "voice.ogg" and request["file_type"] == "audio/ogg"
    assert fake.requests == []  # no chat completion was asked


async def test_silence_is_not_a_transcript(fake: FakeGroq) -> None:
    fake.transcriptions.append(transcript("   "))
    result = await speech(fake).transcribe(b"\x00\x01")
    assert not result.transcribed and result.reason is NotTranscribedReason.EMPTY


async def test_a_server_error_that_persists_is_not_transcribed_and_counted_by_the_breaker(
    fake: FakeGroq,
) -> None:
    fake.transcribe = lambda request: Reply(500, {"error": {"message": "boom"}})
    breaker = CircuitBreaker(threshold=2, cool_down=60)
    stt = speech(fake, max_retries=1, breaker=breaker)
    result = await stt.transcribe(VOICE)
    assert result == AudioTranscription(transcribed=False, reason=NotTranscribedReason.FAILED)
    assert len(fake.audio_requests) == 2 and breaker.failures == 1  # one retry, as chat does


async def test_a_slow_transcription_past_the_timeout_is_not_transcribed(fake: FakeGroq) -> None:
    fake.transcriptions.append(Reply(body={"text": "tarde demais"}, delay=2.0))
    result = await speech(fake, timeout=0.3, max_retries=0).transcribe(VOICE)
    assert result.reason is NotTranscribedReason.FAILED


async def test_an_open_breaker_answers_unavailable_without_calling_groq(fake: FakeGroq) -> None:
    now = [0.0]
    breaker = CircuitBreaker(threshold=1, cool_down=30, clock=lambda: now[0])
    fake.transcribe = lambda request: Reply(503, {"error": {"message": "down"}})
    stt = speech(fake, max_retries=0, breaker=breaker)
    assert (await stt.transcribe(VOICE)).reason is NotTranscribedReason.FAILED
    calls = len(fake.audio_requests)
    assert (await stt.transcribe(VOICE)).reason is NotTranscribedReason.UNAVAILABLE
    assert len(fake.audio_requests) == calls
    now[0] += 31
    fake.transcribe = lambda request: transcript("voltei")
    assert (await stt.transcribe(VOICE)).text == "voltei"


# --- over the bus, as the WhatsApp side asks -------------------------------------------


@pytest.fixture
async def ai_rpc(
    request: pytest.FixtureRequest, rabbitmq_url: str, namespace: str, fake: FakeGroq
) -> AsyncIterator[RpcClient]:
    """The ai service built by its composition root, and a caller on another connection."""
    groq_env = {"GROQ_API_KEY": "test", "GROQ_BASE_URL": fake.base_url}
    settings = AiSettings(
        _env_file=None,  # type: ignore[call-arg]
        RABBITMQ_URL=rabbitmq_url,
        BROKER_NAMESPACE=namespace,
        GROQ_STT_MODEL="whisper-large-v3-turbo",
        **(groq_env if getattr(request, "param", "groq") == "groq" else {}),
    )
    service_bus = RabbitBus(rabbitmq_url, namespace=namespace)
    caller_bus = RabbitBus(rabbitmq_url, namespace=namespace)
    service = build(settings, service_bus)
    await service_bus.start()
    await caller_bus.start()
    try:
        yield RpcClient(caller_bus, AI_RPC, timeout=settings.rpc_timeout_s)
    finally:
        await caller_bus.stop()
        await service_bus.stop()
        for hook in service.on_stop:
            await hook()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def test_the_ai_service_transcribes_a_voice_note_over_the_bus(
    ai_rpc: RpcClient, fake: FakeGroq
) -> None:
    result = AudioTranscription.model_validate(
        await ai_rpc.call(TRANSCRIBE_METHOD, audio_b64=b64(VOICE), mime_type="audio/ogg")
    )
    assert result.transcribed and result.text.startswith("oi livia, meu nome é joão")
    assert [r["model"] for r in fake.audio_requests] == ["whisper-large-v3-turbo"]


async def test_a_groq_failure_reaches_the_caller_as_not_transcribed(
    ai_rpc: RpcClient, fake: FakeGroq
) -> None:
    fake.transcribe = lambda request: Reply(500, {"error": {"message": "boom"}})
    result = AudioTranscription.model_validate(
        await ai_rpc.call(TRANSCRIBE_METHOD, audio_b64=b64(VOICE))
    )
    assert result == AudioTranscription(transcribed=False, reason=NotTranscribedReason.FAILED)


@pytest.mark.parametrize("ai_rpc", ["no-groq"], indirect=True)
async def test_without_groq_the_answer_is_unavailable(ai_rpc: RpcClient, fake: FakeGroq) -> None:
    result = AudioTranscription.model_validate(
        await ai_rpc.call(TRANSCRIBE_METHOD, audio_b64=b64(VOICE))
    )
    assert not result.transcribed and result.reason is NotTranscribedReason.UNAVAILABLE
    assert fake.audio_requests == []


async def test_bad_requests_are_refused_clearly_and_oversized_audio_is_not_sent(
    ai_rpc: RpcClient, fake: FakeGroq
) -> None:
    with pytest.raises(ServiceError, match="base64") as refused:
        await ai_rpc.call(TRANSCRIBE_METHOD, audio_b64="not base64!")
    assert refused.value.code == "validation_error"
    with pytest.raises(ServiceError, match="audio_b64") as missing:
        await ai_rpc.call(TRANSCRIBE_METHOD, mime_type="audio/ogg")
    assert missing.value.code == "validation_error"
    big = await ai_rpc.call(TRANSCRIBE_METHOD, audio_b64=b64(b"a" * (MAX_AUDIO_BYTES + 1)))
    assert AudioTranscription.model_validate(big).reason is NotTranscribedReason.TOO_LARGE
    assert fake.audio_requests == []
