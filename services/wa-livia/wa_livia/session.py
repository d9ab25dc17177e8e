"""Lívia's WhatsApp session: the shared session plumbing (which transcribes her voice
notes), plus what is hers — her conversations answer on her endpoint."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from leadflow.bus import Bus
from leadflow.events import SessionName
from leadflow.speech import Transcriber
from leadflow.whatsapp.session import SessionService
from leadflow.whatsapp.transport import Transport

from wa_livia.conversations import ConversationHandlers


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
        super().__init__(
            SessionName.LIVIA, transport, bus, max_attempts=max_attempts, transcribe=transcribe
        )
        self.conversations = conversations

    def methods(self) -> dict[str, Callable[[dict[str, Any]], Awaitable[Any]]]:
        return {
            **super().methods(),
            "conversation": self.conversations.conversation,
            "figures": self.conversations.figures,
            "resume": self.conversations.resume,
        }
