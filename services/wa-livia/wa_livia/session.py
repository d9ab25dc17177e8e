"""Lívia's WhatsApp session: the shared session plumbing, plus what is hers — a voice note
is transcribed before it is published, and her conversations answer on her endpoint."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from leadflow.bus import Bus
from leadflow.events import SessionName
from leadflow.whatsapp.session import SessionService
from leadflow.whatsapp.transport import InboundMessage, Transport

from wa_livia.conversations import ConversationHandlers

# (audio bytes, MIME type) -> what was said, or None when it could not be heard.
Transcriber = Callable[[bytes, str | None], Awaitable[str | None]]


class LiviaSession(SessionService):
    def __init__(
        self,
        transport: Transport,
        bus: Bus,
        *,
        max_attempts: int,
        conversations: ConversationHandlers,
        transcribe: Transcriber,
    ) -> None:
        super().__init__(SessionName.LIVIA, transport, bus, max_attempts=max_attempts)
        self.conversations = conversations
        self.transcribe = transcribe

    async def on_message(self, message: InboundMessage) -> None:
        """A voice note travels on as its transcript (the audio itself stays here)."""
        if message.audio is not None:
            transcript = await self.transcribe(message.audio, message.audio_mime_type)
            message = dataclasses.replace(message, audio=None, transcript=transcript)
        await super().on_message(message)

    def methods(self) -> dict[str, Callable[[dict[str, Any]], Awaitable[Any]]]:
        return {
            **super().methods(),
            "conversation": self.conversations.conversation,
            "resume": self.conversations.resume,
        }
