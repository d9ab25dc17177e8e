"""Groq through the official client: JSON answers validated, bounded, and a circuit breaker.

- timeout per call (3 s); the client's own bounded retries with backoff on 429/5xx and
  connection errors, honouring Retry-After;
- an answer that is not valid JSON of the expected schema is asked again once;
- after `threshold` consecutive failures the breaker opens: everything goes to the rules
  (or the scripted Lívia) at once, and Groq is probed again after `cool_down` seconds.

Speech-to-text (`GroqSpeech`) shares the client, so the same timeout and retries, and has a
breaker of its own with the same policy: a failing Whisper does not silence the chat model.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import TypeVar

import groq
from leadflow.events import AudioTranscription, NotTranscribedReason
from prometheus_client import Counter, Histogram
from pydantic import BaseModel, ValidationError

log = logging.getLogger(__name__)

CALLS = Counter("ai_groq_calls_total", "Groq calls by outcome", ["purpose", "outcome"])
LATENCY = Histogram(
    "ai_groq_seconds", "Groq call latency", ["purpose"], buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5)
)
ANSWERED_BY = Counter("ai_answers_total", "answers by who produced them", ["purpose", "by"])

Answer = TypeVar("Answer", bound=BaseModel)


@dataclass
class CircuitBreaker:
    threshold: int = 3
    cool_down: float = 30.0
    failures: int = 0
    opened_at: float | None = None
    clock: object = field(default=time.monotonic)

    def allows(self) -> bool:
        """Closed, or open long enough that one probe may go through (half-open)."""
        if self.opened_at is None:
            return True
        assert callable(self.clock)
        return self.clock() - self.opened_at >= self.cool_down

    def succeeded(self) -> None:
        self.failures, self.opened_at = 0, None

    def failed(self) -> None:
        self.failures += 1
        if self.failures >= self.threshold:
            assert callable(self.clock)
            self.opened_at = self.clock()


class GroqJson:
    """Ask Groq for a JSON object of a given schema; None means "use the fallback"."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str | None,
        model: str,
        timeout: float = 3.0,
        max_retries: int = 2,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.client = groq.AsyncGroq(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries
        )
        self.model = model
        self.breaker = breaker or CircuitBreaker()

    async def ask(
        self, purpose: str, system: str, user: str, schema: type[Answer]
    ) -> Answer | None:
        if not self.breaker.allows():
            CALLS.labels(purpose, "breaker_open").inc()
            return None
        for attempt in (1, 2):
            started = time.perf_counter()
            try:
                response = await self.client.chat.completions.create(
                    model=self.model,
                    messages=[
                        {"role": "system", "content": system},
                        {"role": "user", "content": user},
                    ],
                    response_format={"type": "json_object"},
                    temperature=0.2,
                    max_completion_tokens=600,
                )
            except groq.APITimeoutError:
                self._failed(purpose, "timeout")
                return None
            except groq.APIStatusError as exc:
                self._failed(purpose, f"http_{exc.status_code}")
                return None
            except groq.APIError:
                self._failed(purpose, "connection")
                return None
            finally:
                LATENCY.labels(purpose).observe(time.perf_counter() - started)
            content = response.choices[0].message.content if response.choices else None
            try:
                answer = schema.model_validate(json.loads(content or ""))
            except (ValueError, ValidationError):
                CALLS.labels(purpose, "invalid").inc()
                log.info("Groq answer for %s did not validate (attempt %d)", purpose, attempt)
                continue
            self.breaker.succeeded()
            CALLS.labels(purpose, "ok").inc()
            return answer
        return None  # twice invalid: the fallback decides (Groq itself is up)

    def _failed(self, purpose: str, outcome: str) -> None:
        _failed(self.breaker, purpose, outcome)

    async def close(self) -> None:
        await self.client.close()


def _failed(breaker: CircuitBreaker, purpose: str, outcome: str) -> None:
    CALLS.labels(purpose, outcome).inc()
    breaker.failed()
    log.warning("Groq %s failed (%s); using the fallback", purpose, outcome)


def not_transcribed(reason: NotTranscribedReason) -> AudioTranscription:
    return AudioTranscription(transcribed=False, reason=reason)


class GroqSpeech:
    """Whisper on Groq through `audio.transcriptions.create`; never raises."""

    PURPOSE = "transcription"

    def __init__(
        self, client: groq.AsyncGroq, model: str, breaker: CircuitBreaker | None = None
    ) -> None:
        self.client = client
        self.model = model
        self.breaker = breaker or CircuitBreaker()

    async def transcribe(
        self, audio: bytes, mime_type: str = "audio/ogg", language: str = "pt"
    ) -> AudioTranscription:
        if not self.breaker.allows():
            CALLS.labels(self.PURPOSE, "breaker_open").inc()
            return not_transcribed(NotTranscribedReason.UNAVAILABLE)
        started = time.perf_counter()
        try:
            result = await self.client.audio.transcriptions.create(
                model=self.model,
                file=(f"voice{extension(mime_type)}", audio, mime_type.split(";")[0].strip()),
                language=language,
                response_format="json",
                temperature=0.0,
            )
        except groq.APITimeoutError:
            _failed(self.breaker, self.PURPOSE, "timeout")
            return not_transcribed(NotTranscribedReason.FAILED)
        except groq.APIStatusError as exc:
            _failed(self.breaker, self.PURPOSE, f"http_{exc.status_code}")
            return not_transcribed(NotTranscribedReason.FAILED)
        except groq.APIError:
            _failed(self.breaker, self.PURPOSE, "connection")
            return not_transcribed(NotTranscribedReason.FAILED)
        finally:
            LATENCY.labels(self.PURPOSE).observe(time.perf_counter() - started)
        self.breaker.succeeded()
        text = " ".join(str(getattr(result, "text", "") or "").split())
        if not text:
            CALLS.labels(self.PURPOSE, "empty").inc()
            return not_transcribed(NotTranscribedReason.EMPTY)
        CALLS.labels(self.PURPOSE, "ok").inc()
        return AudioTranscription(transcribed=True, text=text, model=self.model)


def extension(mime_type: str) -> str:
    """The file name tells Whisper the container: WhatsApp voice notes are ogg/opus."""
    kind = mime_type.split(";")[0].strip().lower()
    return {
        "audio/ogg": ".ogg",
        "audio/opus": ".ogg",
        "audio/mpeg": ".mp3",
        "audio/mp3": ".mp3",
        "audio/mp4": ".m4a",
        "audio/m4a": ".m4a",
        "audio/aac": ".m4a",
        "audio/wav": ".wav",
        "audio/x-wav": ".wav",
        "audio/webm": ".webm",
        "audio/flac": ".flac",
    }.get(kind, ".ogg")
