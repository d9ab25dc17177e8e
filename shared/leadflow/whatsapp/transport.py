"""What a WhatsApp session can do, whatever implements it."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from leadflow.events import MessageStatus, SessionStatus, utcnow


@dataclass(frozen=True)
class InboundMessage:
    wa_message_id: str
    chat_jid: str
    phone: str
    text: str
    sent_at: datetime
    push_name: str | None = None
    media_type: str | None = None
    from_me: bool = False
    # A voice note's bytes (and their MIME type), for the session to transcribe; the
    # audio itself never travels on the broker, only its `transcript`.
    audio: bytes | None = field(default=None, repr=False)
    audio_mime_type: str | None = None
    transcript: str | None = None


@dataclass(frozen=True)
class Receipt:
    """WhatsApp confirmed that messages we sent were delivered or read."""

    chat_jid: str
    wa_message_ids: tuple[str, ...]
    status: MessageStatus


@dataclass
class SessionState:
    status: SessionStatus = SessionStatus.DISCONNECTED
    phone: str | None = None
    qr: str | None = None
    qr_expires_at: datetime | None = None
    since: datetime = field(default_factory=utcnow)


class TransportListener(Protocol):
    async def on_message(self, message: InboundMessage) -> None: ...
    async def on_receipt(self, receipt: Receipt) -> None: ...
    async def on_state(self, state: SessionState) -> None: ...


class Transport(abc.ABC):
    """One WhatsApp session (one phone number)."""

    def __init__(self) -> None:
        self.state = SessionState()

    @abc.abstractmethod
    async def start(self, listener: TransportListener) -> None:
        """Connect (resuming a stored session, or pairing) and start delivering events."""

    @abc.abstractmethod
    async def stop(self) -> None: ...

    @abc.abstractmethod
    async def send_text(self, chat_jid: str, text: str) -> str:
        """Send; returns WhatsApp's message id. Raises on failure."""

    @abc.abstractmethod
    async def show_typing(self, chat_jid: str, typing: bool) -> None: ...

    @abc.abstractmethod
    async def mark_read(self, chat_jid: str, wa_message_ids: list[str]) -> None: ...

    @abc.abstractmethod
    async def logout(self) -> None: ...
