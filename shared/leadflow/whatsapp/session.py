"""The plumbing every WhatsApp session service runs: transport events to the broker, send
commands to the transport (retried, never twice, one chat in order), and an RPC endpoint
for status, pairing and (simulator only) injected messages and the outbox.

This is what wa-consultant and wa-livia do identically. What a session does with its
messages (the consultants' inbox, Lívia's conversations) belongs to its own service,
which extends `SessionService` and adds its own handlers to `session_service(...)`.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import logging
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from fastapi import FastAPI
from prometheus_client import Gauge
from pydantic import BaseModel, field_validator, model_validator

from leadflow.bus import Bus
from leadflow.bus.topology import by_event_type, on_attempts, session_endpoint, session_send_queue
from leadflow.events import (
    MessageStatus,
    SendMessage,
    SessionName,
    SessionStatus,
    WhatsAppMessageReceived,
    WhatsAppMessageStatusChanged,
    WhatsAppSessionStatusChanged,
)
from leadflow.events.whatsapp import SEND_COMMANDS
from leadflow.http import ops_router
from leadflow.rpc import NotFound, parse, rpc_dispatcher
from leadflow.service import Hook, Service
from leadflow.settings import Settings, WhatsAppTransport
from leadflow.speech import Transcriber
from leadflow.whatsapp.jid import phone_jid
from leadflow.whatsapp.simulator import SimulatorTransport
from leadflow.whatsapp.transport import InboundMessage, Receipt, SessionState, Transport

log = logging.getLogger(__name__)
REMEMBERED_SENDS = 50_000
AUDIO_PLACEHOLDER = "[audio]"
SESSION_CONNECTED = Gauge(
    "leadflow_whatsapp_session_connected", "1 while a WhatsApp session is connected", ["session"]
)


class WhatsAppSessionSettings(Settings):
    """A WhatsApp service's settings: the shared ones and its session's own two knobs,
    which each service declares with its own names (WA_LIVIA_*, WA_CONSULTANT_*)."""

    simulated_phone: str
    pair_phone: str | None = None

    def transport(self, name: SessionName) -> Transport:
        """The only place that knows which WhatsApp implementation runs."""
        if self.whatsapp_transport is WhatsAppTransport.SIMULATOR:
            return SimulatorTransport(self.simulated_phone)
        from leadflow.whatsapp.neonize_transport import NeonizeTransport

        return NeonizeTransport(self.whatsapp_session_dir, name.value, pair_phone=self.pair_phone)


class SessionService:
    """One session between its transport and the broker; a voice note travels on as its
    transcript (the audio itself stays here) when the session has a `transcribe`."""

    def __init__(
        self,
        name: SessionName,
        transport: Transport,
        bus: Bus,
        *,
        max_attempts: int,
        transcribe: Transcriber | None = None,
    ) -> None:
        self.name = name
        self.transport = transport
        self.bus = bus
        self.max_attempts = max_attempts
        self.transcribe = transcribe
        # WhatsApp id -> (our message id, chat): receipts name only WhatsApp's id.
        self._sent: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._done_commands: OrderedDict[str, None] = OrderedDict()

    # --- from WhatsApp ----------------------------------------------------------------

    async def on_message(self, message: InboundMessage) -> None:
        if message.audio is not None and self.transcribe is not None:
            transcript = await self.transcribe(message.audio, message.audio_mime_type)
            message = dataclasses.replace(message, audio=None, transcript=transcript)
        # The event takes the message's fields by name; the audio's bytes stay here.
        message = dataclasses.replace(message, audio=None)
        await self.publish_received(WhatsAppMessageReceived(session=self.name, **asdict(message)))

    async def publish_received(self, event: WhatsAppMessageReceived) -> None:
        """Published with a broker confirm before WhatsApp's delivery counts as received;
        a service that stores its messages stages the event with them instead."""
        await self.bus.publish_event(event)

    async def on_receipt(self, receipt: Receipt) -> None:
        for wa_id in receipt.wa_message_ids:
            ours = self._sent.get(wa_id)
            await self._status(ours[0] if ours else "", wa_id, receipt.chat_jid, receipt.status)

    async def on_state(self, state: SessionState) -> None:
        SESSION_CONNECTED.labels(self.name.value).set(state.status is SessionStatus.CONNECTED)
        await self.bus.publish_event(
            WhatsAppSessionStatusChanged(session=self.name, **asdict(state))
        )

    # --- to WhatsApp ------------------------------------------------------------------

    async def on_send(self, command: SendMessage, *, attempt: int = 1) -> None:
        """Send `command` once; its `attempt` (delivery 1, 2, ...) decides whether a
        failure is retried by the bus or, on the last, reported as failed."""
        if command.message_id in self._done_commands:
            return  # a redelivery of a message already sent
        try:
            if command.typing_ms:
                await self.transport.show_typing(command.chat_jid, True)
                await asyncio.sleep(command.typing_ms / 1000)
                await self.transport.show_typing(command.chat_jid, False)
            wa_id = await self.transport.send_text(command.chat_jid, command.text)
        except Exception as exc:
            if attempt < self.max_attempts:
                raise  # retried with backoff by the bus
            log.warning("giving up on message %s: %s", command.message_id, exc)
            await self._status(
                command.message_id,
                None,
                command.chat_jid,
                MessageStatus.FAILED,
                reason=str(exc) or type(exc).__name__,
            )
            return
        self._remember(command.message_id, wa_id, command.chat_jid)
        await self._status(command.message_id, wa_id, command.chat_jid, MessageStatus.SENT)

    def _remember(self, message_id: str, wa_id: str, chat_jid: str) -> None:
        self._sent[wa_id] = (message_id, chat_jid)
        self._done_commands[message_id] = None
        for bounded in (self._sent, self._done_commands):
            while len(bounded) > REMEMBERED_SENDS:
                bounded.popitem(last=False)

    async def _status(
        self,
        message_id: str,
        wa_id: str | None,
        chat_jid: str,
        status: MessageStatus,
        reason: str | None = None,
    ) -> None:
        await self.publish_status(
            WhatsAppMessageStatusChanged(
                session=self.name,
                message_id=message_id,
                wa_message_id=wa_id,
                chat_jid=chat_jid,
                status=status,
                reason=reason,
            )
        )

    async def publish_status(self, event: WhatsAppMessageStatusChanged) -> None:
        """A sent message's status; a service that stores its messages overrides this."""
        await self.bus.publish_event(event)

    # --- RPC ----------------------------------------------------------------------------

    async def status(self, params: dict[str, Any]) -> dict[str, Any]:
        state = self.transport.state
        return {
            "name": self.name.value,
            "status": state.status.value,
            "phone": state.phone,
            "since": state.since.isoformat(),
        }

    async def qr(self, params: dict[str, Any]) -> dict[str, Any]:
        state = self.transport.state
        if state.status.value != "pairing" or not state.qr:
            raise NotFound("this session is not pairing")
        expires = state.qr_expires_at.isoformat() if state.qr_expires_at else None
        return {"qr": state.qr, "expires_at": expires}

    async def logout(self, params: dict[str, Any]) -> dict[str, Any]:
        await self.transport.logout()
        return await self.status(params)

    async def inject(self, params: dict[str, Any]) -> dict[str, Any]:
        """Simulator only: as if `from` sent `text` (or a voice note, `audio_b64`) to this
        session's number."""
        if not isinstance(self.transport, SimulatorTransport):
            raise NotFound("only the simulator accepts injected messages")
        body = parse(InjectedMessage, params)
        audio = base64.b64decode(body.audio_b64) if body.audio_b64 else None
        message = InboundMessage(
            wa_message_id=body.id or "SIMIN" + uuid.uuid4().hex[:16].upper(),
            chat_jid=phone_jid(body.phone),
            phone=body.phone,
            text=body.text or AUDIO_PLACEHOLDER,
            sent_at=body.timestamp or datetime.now().astimezone(),
            push_name=body.push_name,
            media_type=None if audio is None else "audio",
            from_me=body.from_me,
            audio=audio,
            audio_mime_type=body.mime_type or ("audio/ogg" if audio else None),
        )
        await self.transport.inject(message)
        return {"id": message.wa_message_id}

    async def scan(self, params: dict[str, Any]) -> dict[str, Any]:
        """Simulator only: as if a phone scanned the pairing code."""
        if not isinstance(self.transport, SimulatorTransport):
            raise NotFound("only the simulator can be paired from here")
        if self.transport.state.status.value != "pairing":
            raise NotFound("this session is not pairing")
        await self.transport.scan()
        return await self.status(params)

    async def outbox(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if not isinstance(self.transport, SimulatorTransport):
            raise NotFound("only the simulator has an outbox")
        to = params.get("to")
        return [asdict(m) for m in self.transport.sent_to(to)]

    def methods(self) -> dict[str, Callable[[dict[str, Any]], Awaitable[Any]]]:
        """The session's RPC methods; a service adds its own to them."""
        return {
            "status": self.status,
            "qr": self.qr,
            "logout": self.logout,
            "inject": self.inject,
            "scan": self.scan,
            "outbox": self.outbox,
        }


class InjectedMessage(BaseModel):
    phone: str
    text: str | None = None
    audio_b64: str | None = None
    mime_type: str | None = None
    push_name: str | None = None
    id: str | None = None
    timestamp: datetime | None = None
    from_me: bool = False

    @model_validator(mode="after")
    def _text_or_audio(self) -> InjectedMessage:
        if (self.text is None) == (self.audio_b64 is None):
            raise ValueError("send either text or audio_b64")
        if self.audio_b64 is not None:
            try:
                base64.b64decode(self.audio_b64, validate=True)
            except ValueError:
                raise ValueError("audio_b64 is not base64") from None
        return self

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        digits = "".join(ch for ch in value if ch.isdigit())
        if not 2 <= len(digits) <= 15 or digits.startswith("0"):
            raise ValueError("must be E.164")
        return "+" + digits


def session_service(
    session: SessionService,
    bus: Bus,
    *,
    health: dict[str, Callable[[], Awaitable[bool]]] | None = None,
    before_bus: list[Hook] | None = None,
    after_bus: list[Hook] | None = None,
    before_stop: list[Hook] | None = None,
    on_stop: list[Hook] | None = None,
) -> Service:
    """The `Service` of a session: its send queue, RPC endpoint, transport lifecycle and
    ops endpoints, plus the owning service's own hooks and readiness checks."""
    transport = session.transport
    chat_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def send_in_chat_order(command: SendMessage, attempt: int) -> None:
        # One chat's messages go out in order; different chats go out concurrently.
        lock = chat_locks.get(command.chat_jid)
        if lock is None:
            lock = asyncio.Lock()
            chat_locks[command.chat_jid] = lock
        async with lock:
            await session.on_send(command, attempt=attempt)

    bus.consume(
        session_send_queue(session.name),
        by_event_type(on_attempts(SEND_COMMANDS[session.name], send_in_chat_order)),
    )
    bus.serve(session_endpoint(session.name), rpc_dispatcher(session.methods()))

    async def started() -> None:
        await transport.start(session)

    async def session_ready() -> bool:
        # Ready once the session can take commands; pairing needs a person, not a restart.
        return transport.state.status is not SessionStatus.LOGGED_OUT

    name = f"wa-{session.name.value}"
    app = FastAPI(title=f"leadflow {name}", openapi_url=None)
    checks = {"broker": bus.ping, **(health or {}), "session": session_ready}
    app.include_router(ops_router(name, checks))
    return Service(
        name=name,
        app=app,
        before_bus=list(before_bus or []),
        after_bus=[started, *(after_bus or [])],
        before_stop=[*(before_stop or []), transport.stop],
        on_stop=list(on_stop or []),
    )
