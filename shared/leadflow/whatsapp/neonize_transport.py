"""The real WhatsApp session, on neonize (whatsmeow underneath).

The session is a SQLite file under WHATSAPP_SESSION_DIR/<session>/, so a restart resumes
without pairing. Pairing is by QR (published as session state, printed in the log) or by
phone code. whatsmeow reconnects by itself after network loss; we track the state from
its events, since neonize's own flags are unreliable (see LIBRARY-NOTES). A lock file
makes a second process for the same session refuse to start instead of fighting for it.

Neonize starts event handlers without awaiting them, so their exceptions would vanish:
every handler here catches and logs.
"""

from __future__ import annotations

import dataclasses
import fcntl
import logging
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from leadflow.events import MessageStatus, SessionStatus, utcnow
from leadflow.whatsapp.jid import USER_SERVER, jid_phone, phone_jid
from leadflow.whatsapp.transport import (
    InboundMessage,
    Receipt,
    SessionState,
    Transport,
    TransportListener,
)

log = logging.getLogger(__name__)

# waE2E.Message fields that carry media, and the placeholder text we store for each.
MEDIA_FIELDS = {
    "imageMessage": "image",
    "videoMessage": "video",
    "audioMessage": "audio",
    "documentMessage": "document",
    "stickerMessage": "sticker",
    "locationMessage": "location",
    "contactMessage": "contact",
}
RECEIPT_STATUS = {1: MessageStatus.DELIVERED, 4: MessageStatus.READ, 6: MessageStatus.READ}
QR_LIFETIME = timedelta(seconds=20)


class SessionInUse(RuntimeError):
    """Another process holds this WhatsApp session."""


def jid_string(jid: Any) -> str:
    user, server = getattr(jid, "User", ""), getattr(jid, "Server", "")
    return f"{user}@{server}" if user else ""


def _user(chat_jid: str) -> str:
    """neonize's `build_jid` takes the phone's digits."""
    return jid_phone(chat_jid).removeprefix("+")


def timestamp_of(value: int) -> datetime:
    """WhatsApp timestamps arrive in seconds or milliseconds depending on the build."""
    seconds = value / 1000 if value > 10**11 else value
    return datetime.fromtimestamp(seconds, UTC)


def text_of(message: Any) -> tuple[str, str | None]:
    """(text, media type): plain or extended text, else a placeholder with the caption."""
    if message.HasField("extendedTextMessage") and message.extendedTextMessage.text:
        return message.extendedTextMessage.text, None
    if message.conversation:
        return message.conversation, None
    for name, kind in MEDIA_FIELDS.items():
        if message.HasField(name):
            caption = getattr(getattr(message, name), "caption", "") or ""
            return (f"[{kind}] {caption}".strip(), kind)
    return "[unsupported message]", "unsupported"


def inbound_from_event(event: Any, phone_of_lid: str | None = None) -> InboundMessage | None:
    """Our message for a neonize MessageEv; None for groups, status broadcasts, newsletters.

    A contact WhatsApp addresses by its `@lid` identity is mapped to its phone number
    (`phone_of_lid`, or the event's alternate sender), so one person is one chat.
    """
    info = event.Info
    source = info.MessageSource
    chat = jid_string(source.Chat)
    if source.IsGroup or chat.endswith(("@g.us", "@broadcast", "@newsletter")) or not chat:
        return None
    phone = jid_phone(chat)
    if chat.endswith("@lid"):
        alternate = jid_string(source.SenderAlt) if source.HasField("SenderAlt") else ""
        if phone_of_lid:
            phone = jid_phone(phone_of_lid)
        elif alternate.endswith("@" + USER_SERVER):
            phone = jid_phone(alternate)
        else:
            return None  # cannot tell who this is yet; the adapter resolves it first
    text, media = text_of(event.Message)
    return InboundMessage(
        wa_message_id=info.ID,
        chat_jid=phone_jid(phone),
        phone=phone,
        text=text,
        sent_at=timestamp_of(info.Timestamp),
        push_name=info.Pushname or None,
        media_type=media,
        from_me=bool(source.IsFromMe),
    )


def receipt_from_event(event: Any) -> Receipt | None:
    status = RECEIPT_STATUS.get(int(event.Type))
    if status is None or not event.MessageIDs:
        return None
    chat = jid_string(event.MessageSource.Chat)
    return Receipt(chat, tuple(event.MessageIDs), status)


class NeonizeTransport(Transport):
    def __init__(self, session_dir: Path, name: str, *, pair_phone: str | None = None) -> None:
        super().__init__()
        self.folder = session_dir / name
        self.name = name
        self.pair_phone = pair_phone
        self.client: Any = None
        self._listener: TransportListener | None = None
        self._lock_fd: int | None = None
        self._task: Any = None

    def _acquire_singleton(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.folder / "session.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise SessionInUse(f"WhatsApp session {self.name!r} is running elsewhere") from None
        self._lock_fd = fd

    async def start(self, listener: TransportListener) -> None:
        from neonize.aioze.client import NewAClient
        from neonize.aioze.events import (
            ConnectedEv,
            DisconnectedEv,
            LoggedOutEv,
            MessageEv,
            ReceiptEv,
        )

        self._acquire_singleton()
        self._listener = listener
        self.client = NewAClient(str(self.folder / "session.sqlite3"), uuid=self.name)
        self.client.event(MessageEv)(self._guarded(self.handle_message))
        self.client.event(ReceiptEv)(self._guarded(self.handle_receipt))
        self.client.event(ConnectedEv)(self._guarded(self.handle_connected))
        self.client.event(DisconnectedEv)(self._guarded(self.handle_disconnected))
        self.client.event(LoggedOutEv)(self._guarded(self.handle_logged_out))
        self.client.qr(self._guarded(self.handle_qr))
        await self._set(SessionState(status=SessionStatus.CONNECTING))
        self._task = await self.client.connect()

    def _guarded(self, handler: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        async def guarded(*args: Any) -> None:
            try:
                await handler(*args)
            except Exception:
                log.exception("WhatsApp event handler %s failed", handler.__name__)

        guarded.__name__ = handler.__name__
        return guarded

    async def _set(self, state: SessionState) -> None:
        self.state = state
        if self._listener is not None:
            await self._listener.on_state(state)

    async def handle_message(self, client: Any, event: Any) -> None:
        phone_of_lid = None
        chat = event.Info.MessageSource.Chat
        if getattr(chat, "Server", "") == "lid" and not event.Info.MessageSource.HasField(
            "SenderAlt"
        ):
            phone_jid = await client.get_pn_from_lid(chat)
            phone_of_lid = getattr(phone_jid, "User", None)
        message = inbound_from_event(event, phone_of_lid)
        if message is not None and message.media_type == "audio":
            message = await self._with_audio(client, event, message)
        if message is not None and self._listener is not None:
            await self._listener.on_message(message)

    async def _with_audio(self, client: Any, event: Any, message: InboundMessage) -> InboundMessage:
        """A voice note with its bytes (downloaded and decrypted), for transcription; as a
        placeholder alone if WhatsApp's media servers do not give it."""
        try:
            audio = await client.download_any(event.Message)
        except Exception:
            log.warning("could not download voice note %s", message.wa_message_id, exc_info=True)
            return message
        mime_type = event.Message.audioMessage.mimetype or "audio/ogg"
        return dataclasses.replace(message, audio=bytes(audio), audio_mime_type=mime_type)

    async def handle_receipt(self, client: Any, event: Any) -> None:
        receipt = receipt_from_event(event)
        if receipt is not None and self._listener is not None:
            await self._listener.on_receipt(receipt)

    async def handle_qr(self, client: Any, data: bytes) -> None:
        code = data.decode() if isinstance(data, bytes) else str(data)
        log.info("WhatsApp session %s: scan this code to pair: %s", self.name, code)
        if self.pair_phone:
            pairing = await client.PairPhone(self.pair_phone.lstrip("+"), True)
            log.info("WhatsApp session %s: or enter the phone code %s", self.name, pairing)
        await self._set(
            SessionState(
                status=SessionStatus.PAIRING, qr=code, qr_expires_at=utcnow() + QR_LIFETIME
            )
        )

    async def handle_connected(self, client: Any, event: Any) -> None:
        me = await client.get_me()
        phone = getattr(getattr(me, "JID", None), "User", None)
        await self._set(
            SessionState(status=SessionStatus.CONNECTED, phone=f"+{phone}" if phone else None)
        )

    async def handle_disconnected(self, client: Any, event: Any) -> None:
        # whatsmeow reconnects by itself; report it meanwhile.
        await self._set(SessionState(status=SessionStatus.CONNECTING, phone=self.state.phone))

    async def handle_logged_out(self, client: Any, event: Any) -> None:
        log.warning("WhatsApp session %s was logged out: pair it again", self.name)
        await self._set(SessionState(status=SessionStatus.LOGGED_OUT))

    async def send_text(self, chat_jid: str, text: str) -> str:
        from neonize.utils import build_jid

        if self.client is None or self.state.status is not SessionStatus.CONNECTED:
            raise ConnectionError(f"session {self.name} is {self.state.status.value}")
        response = await self.client.send_message(build_jid(_user(chat_jid)), text)
        return str(response.ID)

    async def show_typing(self, chat_jid: str, typing: bool) -> None:
        from neonize.utils import build_jid
        from neonize.utils.enum import ChatPresence, ChatPresenceMedia

        if self.client is None:
            return
        presence = (
            ChatPresence.CHAT_PRESENCE_COMPOSING if typing else ChatPresence.CHAT_PRESENCE_PAUSED
        )
        await self.client.send_chat_presence(
            build_jid(_user(chat_jid)), presence, ChatPresenceMedia.CHAT_PRESENCE_MEDIA_TEXT
        )

    async def mark_read(self, chat_jid: str, wa_message_ids: list[str]) -> None:
        from neonize.utils import build_jid
        from neonize.utils.enum import ReceiptType

        if self.client is None or not wa_message_ids:
            return
        jid = build_jid(_user(chat_jid))
        await self.client.mark_read(*wa_message_ids, chat=jid, sender=jid, receipt=ReceiptType.READ)

    async def logout(self) -> None:
        if self.client is not None:
            await self.client.logout()
        await self._set(SessionState(status=SessionStatus.LOGGED_OUT))

    async def stop(self) -> None:
        if self.client is not None:
            try:
                await self.client.disconnect()
            except Exception:
                log.warning("could not disconnect WhatsApp session %s", self.name, exc_info=True)
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
