"""The consultant session's own behaviour on top of the session plumbing: the inbox
(a voice note is stored with its transcript, which the plumbing asked ai for), and the
notice a consultant gets on their own phone for each lead assigned to them.

Every message in and out is stored (with its chat's row, in one transaction) before its
event is staged for the broker, so a chat's history has a message by the time the chat
list or a client's frame shows it. Who may see a chat is `repository.VISIBLE`.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, TypeVar

from leadflow.bus import Bus
from leadflow.bus.base import Handler
from leadflow.bus.topology import on
from leadflow.contracts import Actor
from leadflow.db import OutboxRelay, one_statement_engine
from leadflow.events import (
    ConsultantSaved,
    LeadAssigned,
    LeadCreated,
    LeadUpdated,
    MessageStatus,
    SendConsultantMessage,
    SendMessage,
    SessionName,
    WhatsAppMessageReceived,
    WhatsAppMessageStatusChanged,
)
from leadflow.rpc import NotFound, parse
from leadflow.speech import Transcriber
from leadflow.whatsapp import Transport, jid_phone, phone_jid
from leadflow.whatsapp.session import SessionService
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from wa_consultant import repository as repo
from wa_consultant.domain import (
    Audience,
    assignment_notice_command,
    before_time,
    changes_the_projection,
    chat_json,
    message_json,
    outgoing_text,
    page_size,
)

log = logging.getLogger(__name__)


class ConsultantSession(SessionService):
    def __init__(
        self,
        transport: Transport,
        bus: Bus,
        *,
        max_attempts: int,
        engine: AsyncEngine,
        relay: OutboxRelay,
        transcribe: Transcriber | None = None,
    ) -> None:
        super().__init__(
            SessionName.CONSULTANT,
            transport,
            bus,
            max_attempts=max_attempts,
            transcribe=transcribe,
        )
        self.engine = engine
        # The projections' writes are one statement each (see `one_statement_engine`).
        self.autocommit = one_statement_engine(engine)
        self.relay = relay

    # --- from WhatsApp: stored, then published through the outbox -----------------------

    # The relay is woken only after a commit that staged an event: a wake for nothing
    # costs it a transaction too.

    async def publish_received(self, event: WhatsAppMessageReceived) -> None:
        async with self.engine.begin() as connection:
            audience = await repo.audience_of(connection, phone=event.phone)
            stored = await repo.add_message(
                connection,
                message_id=f"wa:{event.wa_message_id}",
                chat_jid=event.chat_jid,
                phone=event.phone,
                audience=audience,
                incoming=not event.from_me,
                sender="phone" if event.from_me else (event.push_name or event.phone),
                body=event.text,
                sent_at=event.sent_at,
                status=MessageStatus.READ if event.from_me else MessageStatus.DELIVERED,
                wa_message_id=event.wa_message_id,
                media_type=event.media_type,
                transcript=event.transcript,
                push_name=event.push_name,
            )
            if not stored:  # a redelivery by WhatsApp is stored and announced once
                return
            await repo.stage(connection, with_audience(event, audience))
        self.relay.wake()

    async def publish_status(self, event: WhatsAppMessageStatusChanged) -> None:
        async with self.engine.begin() as connection:
            stored = await repo.set_status(
                connection,
                message_id=event.message_id,
                wa_message_id=event.wa_message_id,
                status=event.status,
                reason=event.reason,
            )
            if stored and (not stored["moved"] or stored["notice"]):
                # A late 'sent' after 'delivered' (the receipt's transaction won the row
                # lock): announcing it would turn the clients' ticks back. A notice's
                # status is for admins, who read it from the store: no client is shown a
                # notice live, so nobody would consume its event.
                return
            phone = stored["phone"] if stored else jid_phone(event.chat_jid)
            audience = await repo.audience_of(connection, phone=phone)
            await repo.stage(connection, with_audience(event, audience))
        self.relay.wake()

    # --- to WhatsApp ------------------------------------------------------------------

    async def on_send(self, command: SendMessage, *, attempt: int = 1) -> None:
        """A command from another service (a notice) is stored before it is sent; one
        from this inbox was stored when it was asked for. A message whose status has
        moved on was sent (or given up on) by an earlier delivery: a redelivery after a
        restart, which the plumbing's memory of sent commands no longer covers, skips it."""
        phone = jid_phone(command.chat_jid)
        # A notice is one statement (no chat row moves with it); a lead chat's message
        # moves its chat's row in the same transaction.
        storing = self.autocommit.connect() if command.notice else self.engine.begin()
        async with storing as connection:
            audience = (
                Audience(notice=True)
                if command.notice
                else await repo.audience_of(connection, phone=phone)
            )
            stored = await repo.add_message(
                connection,
                message_id=command.message_id,
                chat_jid=command.chat_jid,
                phone=phone,
                audience=audience,
                incoming=False,
                sender=command.sender,
                body=command.text,
                sent_at=command.occurred_at,
                status=MessageStatus.PENDING,
            )
            if not stored and not await repo.unsent(connection, message_id=command.message_id):
                return
        await super().on_send(command, attempt=attempt)

    # --- projections ------------------------------------------------------------------

    def inbox_routes(self) -> list[tuple[str, Handler]]:
        """The inbox queue's events, each to its handler (registered by type, parsed for it)."""
        return [
            on(LeadCreated, self.on_lead),
            on(LeadUpdated, self.on_lead_updated),
            on(LeadAssigned, self.on_lead_assigned),
            on(ConsultantSaved, self.on_consultant),
        ]

    async def on_lead(self, event: LeadCreated | LeadUpdated | LeadAssigned) -> None:
        """The lead's newest phone, name and consultant, in one statement of its own."""
        async with self.autocommit.connect() as connection:
            await repo.save_lead(connection, lead=event.lead)

    async def on_lead_assigned(self, event: LeadAssigned) -> None:
        """The projection, then the new consultant's notice: stored once (its id is the
        event's) and sent right away. A send that fails goes to the send queue, which
        retries it as any send (and stores it as failed on the last try): this queue's
        projections never wait for WhatsApp to come back."""
        await self.on_lead(event)
        # The phone comes with the event, read by leads in the assignment's own statement,
        # not from `inbox_consultant_phones`: consultant.saved shares this queue, but its
        # deliveries are handled concurrently (and a failed one is retried after later
        # ones), so a phone set just before a manager's assignment could still be unknown
        # here, or the old one: the notice lost, or sent to a number the consultant left.
        if (notice := assignment_notice_command(event)) is None:
            return
        try:
            await self.on_send(notice, attempt=1)
        except Exception as exc:
            log.info("notice %s goes to the send queue: %s", notice.message_id, exc)
            async with self.autocommit.connect() as connection:
                await repo.stage(connection, notice)
            self.relay.wake()

    async def on_lead_updated(self, event: LeadUpdated) -> None:
        """Most updates (a status, notes) change nothing the inbox keeps: no write."""
        if changes_the_projection(event.changed):
            await self.on_lead(event)

    async def on_consultant(self, event: ConsultantSaved) -> None:
        phone = event.consultant.phone
        async with self.autocommit.connect() as connection:
            await repo.save_consultant_phone(
                connection,
                consultant_id=event.consultant.id,
                phone=jid_phone(phone_jid(phone)) if phone else None,
            )

    # --- RPC (the gateway's /api/chats*) ----------------------------------------------

    async def _visible(self, connection: AsyncConnection, actor: Actor, jid: str) -> str | None:
        try:
            return await repo.visible_chat(connection, actor=actor, phone=jid_phone(jid))
        except LookupError:
            raise NotFound("chat not found") from None

    async def list_chats(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Newest first; a consultant sees the chats of their own leads only."""
        actor = parse(Actor, params.get("actor") or {})
        limit = page_size(params.get("limit"), default=200, most=1000)
        async with self.engine.connect() as connection:
            rows = await repo.list_chats(connection, actor=actor, limit=limit)
        return [chat_json(row) for row in rows]

    async def chat_messages(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        actor = parse(Actor, params.get("actor") or {})
        jid = str(params.get("jid") or "")
        before = before_time(params.get("before"))
        limit = page_size(params.get("limit"), default=50, most=200)
        async with self.engine.connect() as connection:
            await self._visible(connection, actor, jid)
            rows = await repo.history(connection, chat_jid=jid, before=before, limit=limit)
        return [message_json(row) for row in rows]

    async def send_chat_message(self, params: dict[str, Any]) -> dict[str, Any]:
        actor = parse(Actor, params.get("actor") or {})
        jid = str(params.get("jid") or "")
        body = outgoing_text(params.get("text"))
        async with self.engine.begin() as connection:
            lead_id = await self._visible(connection, actor, jid)
            command = SendConsultantMessage(
                message_id=uuid.uuid4().hex,
                chat_jid=jid,
                text=body,
                lead_id=lead_id,
                sender=actor.id,
            )
            await repo.add_message(
                connection,
                message_id=command.message_id,
                chat_jid=jid,
                phone=jid_phone(jid),
                audience=Audience(lead_id=lead_id),
                incoming=False,
                sender=actor.id,
                body=body,
                sent_at=command.occurred_at,
                status=MessageStatus.PENDING,
            )
            await repo.stage(connection, command)
        self.relay.wake()
        return {"id": command.message_id, "status": MessageStatus.PENDING.value}

    async def mark_chat_read(self, params: dict[str, Any]) -> None:
        actor = parse(Actor, params.get("actor") or {})
        jid = str(params.get("jid") or "")
        async with self.engine.begin() as connection:
            await self._visible(connection, actor, jid)
            wa_ids = await repo.mark_read(connection, chat_jid=jid)
        await self.transport.mark_read(jid, wa_ids)

    async def list_notices(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Notices to consultants and their answers: the gateway lets admins only."""
        limit = page_size(params.get("limit"), default=50, most=200)
        consultant_id = params.get("consultant_id") or None
        async with self.engine.connect() as connection:
            rows = await repo.notices(connection, consultant_id=consultant_id, limit=limit)
        return [
            {**message_json(row), "phone": row["phone"], "consultant_id": row["consultant_id"]}
            for row in rows
        ]

    def methods(self) -> dict[str, Any]:
        return {
            **super().methods(),
            "list_chats": self.list_chats,
            "chat_messages": self.chat_messages,
            "send_chat_message": self.send_chat_message,
            "mark_chat_read": self.mark_chat_read,
            "list_notices": self.list_notices,
        }


AudienceEvent = TypeVar("AudienceEvent", WhatsAppMessageReceived, WhatsAppMessageStatusChanged)


def with_audience(event: AudienceEvent, audience: Audience) -> AudienceEvent:
    """The event as clients may see it: whose chat it is, decided here and only here."""
    return event.model_copy(
        update={
            "lead_id": audience.lead_id,
            "consultant_id": audience.consultant_id,
            "notice": audience.notice,
        }
    )
