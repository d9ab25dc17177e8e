"""Voice notes as words, for the services that receive them (both WhatsApp sessions):
the ai service's `transcribe` over the bus (the contract is `leadflow.events.speech`)."""

from __future__ import annotations

import base64
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from leadflow.events import TRANSCRIBE_METHOD, AudioTranscription, TranscribeAudio
from leadflow.rpc import RpcClient, parse

log = logging.getLogger(__name__)

# (audio bytes, MIME type) -> what was said, or None when it could not be heard.
Transcriber = Callable[[bytes, str | None], Awaitable[str | None]]


@dataclass
class SpeechToText:
    """The ai service transcribes voice notes; None when it could not."""

    client: RpcClient

    async def transcribe(self, audio: bytes, mime_type: str | None) -> str | None:
        request = TranscribeAudio(
            audio_b64=base64.b64encode(audio).decode(), mime_type=mime_type or "audio/ogg"
        )
        try:
            answer = parse(
                AudioTranscription,
                await self.client.call(TRANSCRIBE_METHOD, **request.model_dump()),
            )
        except Exception:
            log.warning("could not transcribe a voice note", exc_info=True)
            return None
        return (answer.text.strip() or None) if answer.transcribed else None
