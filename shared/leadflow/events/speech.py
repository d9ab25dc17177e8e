"""Speech-to-text over the bus: ask the ai service (endpoint `ai`, method `transcribe`).

The caller (the service that received a voice note) sends the audio bytes, base64, and
always gets an `AudioTranscription` back within its RPC deadline: either the text, or
`transcribed=false` with a reason, so it can ask the lead, kindly, to write instead.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

TRANSCRIBE_METHOD = "transcribe"
MAX_AUDIO_BYTES = 8 * 1024 * 1024  # a few minutes of WhatsApp opus; larger is not transcribed


class NotTranscribedReason(StrEnum):
    UNAVAILABLE = "unavailable"  # no Groq configured, or its breaker is open
    FAILED = "failed"  # Groq answered an error, timed out or could not be reached
    EMPTY = "empty"  # Groq heard no speech
    TOO_LARGE = "too_large"  # over MAX_AUDIO_BYTES
    INVALID = "invalid"  # the request itself was malformed (bad base64, empty audio)


class TranscribeAudio(BaseModel):
    """Params of the `transcribe` request."""

    audio_b64: str = Field(
        min_length=1,
        description=f"the audio file, base64 (standard alphabet); at most {MAX_AUDIO_BYTES} "
        "bytes once decoded",
    )
    mime_type: str = Field(
        "audio/ogg",
        max_length=100,
        description="the audio's MIME type as WhatsApp gave it, e.g. `audio/ogg; codecs=opus`",
    )
    language: str = Field("pt", max_length=8, description="ISO-639-1 language of the speech")


class AudioTranscription(BaseModel):
    """Result of the `transcribe` request: the text, or why there is none."""

    transcribed: bool = Field(description="true when `text` holds what the lead said")
    text: str = Field("", description="the transcript (empty when not transcribed)")
    reason: NotTranscribedReason | None = Field(
        None, description="why there is no transcript; null when transcribed"
    )
    model: str | None = Field(None, description="the speech-to-text model that produced it")
