"""A WhatsApp session that lives in memory: for development and tests, never production.

It speaks the same interface as the real one; messages "sent" go to an outbox that the
dev endpoints show, and are delivered at once (a delivery receipt follows each send).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

from leadflow.events import MessageStatus, SessionStatus, utcnow
from leadflow.whatsapp.jid import jid_phone
from leadflow.whatsapp.transport import (
    InboundMessage,
    Receipt,
    SessionState,
    Transport,
    TransportListener,
)


@dataclass(frozen=True)
class SentMessage:
    id: str
    to: str
    text: str
    timestamp: str


class SimulatorTransport(Transport):
    def __init__(self, own_phone: str) -> None:
        super().__init__()
        self.own_phone = own_phone
        self.outbox: list[SentMessage] = []
        self._listener: TransportListener | None = None

    async def start(self, listener: TransportListener) -> None:
        self._listener = listener
        self.state = SessionState(status=SessionStatus.CONNECTED, phone=self.own_phone)
        await listener.on_state(self.state)

    async def stop(self) -> None:
        self._listener = None

    async def inject(self, message: InboundMessage) -> None:
        """As if the contact had sent `message` to this session's number."""
        if self._listener is None:
            raise RuntimeError("the session is not running")
        await self._listener.on_message(message)

    async def send_text(self, chat_jid: str, text: str) -> str:
        if self.state.status is not SessionStatus.CONNECTED:
            raise ConnectionError(f"session is {self.state.status.value}")
        wa_id = "SIM" + uuid.uuid4().hex[:16].upper()
        self.outbox.append(SentMessage(wa_id, jid_phone(chat_jid), text, utcnow().isoformat()))
        if self._listener is not None:
            listener = self._listener
            receipt = Receipt(chat_jid, (wa_id,), MessageStatus.DELIVERED)
            asyncio.get_running_loop().call_soon(
                lambda: asyncio.ensure_future(listener.on_receipt(receipt))
            )
        return wa_id

    async def show_typing(self, chat_jid: str, typing: bool) -> None:
        return None

    async def mark_read(self, chat_jid: str, wa_message_ids: list[str]) -> None:
        return None

    async def logout(self) -> None:
        self.state = SessionState(status=SessionStatus.LOGGED_OUT)
        if self._listener is not None:
            await self._listener.on_state(self.state)

    def sent_to(self, phone: str | None) -> list[SentMessage]:
        return [m for m in self.outbox if phone is None or m.to == phone]
