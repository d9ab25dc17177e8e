"""A WhatsApp session that lives in memory: for development and tests, never production.

It speaks the same interface as the real one; messages "sent" go to an outbox that the
dev endpoints show, and are delivered at once (a delivery receipt follows each send).
After a logout it pairs again as a phone would: a simulated QR code, replaced every
`qr_ttl_s` as WhatsApp's codes rotate, until `scan()` (a dev endpoint) links it.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

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
    def __init__(self, own_phone: str, *, qr_ttl_s: float = 20.0) -> None:
        super().__init__()
        self.own_phone = own_phone
        self.qr_ttl_s = qr_ttl_s
        self.outbox: list[SentMessage] = []
        self._listener: TransportListener | None = None
        self._rotation: asyncio.Task[None] | None = None

    async def start(self, listener: TransportListener) -> None:
        self._listener = listener
        self.state = SessionState(status=SessionStatus.CONNECTED, phone=self.own_phone)
        await listener.on_state(self.state)

    async def stop(self) -> None:
        await self._stop_rotation()
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
        """Logged out, then pairing again with a fresh code, as the real session does."""
        await self._stop_rotation()
        await self._set(SessionState(status=SessionStatus.LOGGED_OUT))
        self._rotation = asyncio.create_task(self._rotate_codes())

    async def scan(self) -> None:
        """As if a phone scanned the current code: the session is linked and connected."""
        if self.state.status is not SessionStatus.PAIRING:
            raise RuntimeError("the session is not pairing")
        await self._stop_rotation()
        await self._set(SessionState(status=SessionStatus.CONNECTED, phone=self.own_phone))

    async def _rotate_codes(self) -> None:
        pairing_since = utcnow()  # a new code is not a new state: "since" stays
        while True:
            code = f"2@SIMULATED-{secrets.token_urlsafe(24)},{self.own_phone}"
            expires = utcnow() + timedelta(seconds=self.qr_ttl_s)
            await self._set(
                SessionState(
                    status=SessionStatus.PAIRING,
                    qr=code,
                    qr_expires_at=expires,
                    since=pairing_since,
                )
            )
            await asyncio.sleep(self.qr_ttl_s)

    async def _stop_rotation(self) -> None:
        if self._rotation is not None and self._rotation is not asyncio.current_task():
            self._rotation.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._rotation
        self._rotation = None

    async def _set(self, state: SessionState) -> None:
        self.state = state
        if self._listener is not None:
            await self._listener.on_state(state)

    def sent_to(self, phone: str | None) -> list[SentMessage]:
        return [m for m in self.outbox if phone is None or m.to == phone]
