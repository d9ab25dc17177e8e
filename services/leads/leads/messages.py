"""The WhatsApp message log: every message in and out of both sessions, and the chats RPC.

Inbound messages are stored once by WhatsApp's own id (a unique column, not a time
window), outgoing ones by our id from the moment they are requested (pending), and
statuses only move forward: pending → sent → delivered → read, or failed.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leadflow.bus import Delivery
from leadflow.db import OutboxRelay, asyncpg_transaction
from leadflow.events import (
    MessageStatus,
    Role,
    SendConsultantMessage,
    SendMessage,
    SessionName,
    WhatsAppMessageReceived,
    WhatsAppMessageStatusChanged,
)
from leadflow.rpc import Invalid, NotFound, parse
from leadflow.whatsapp import jid_phone
from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from leads import repository as repo
from leads.domain import new_id
from leads.models import Lead, Message
from leads.unit_of_work import Actor, commit_with_events, pending_message

STATUS_ORDER = {"pending": 0, "sent": 1, "delivered": 2, "read": 3, "failed": 4}


def moves_forward(current: str, new: str) -> bool:
    """Statuses never go back (a late 'sent' after 'read' changes nothing); failed is final."""
    if current in ("failed", "read"):
        return False
    return STATUS_ORDER[new] > STATUS_ORDER[current]


def message_json(row: Message) -> dict[str, Any]:
    return {
        "id": row.id,
        "direction": row.direction,
        "text": row.text,
        "timestamp": row.sent_at.isoformat(),
        "status": row.status,
        "sender": row.sender,
        "wa_message_id": row.wa_message_id,
        "reason": row.reason,
    }


# A status update (asyncpg: one per sent message, twice or more).
_LOCK_BY_ID = "SELECT id, status, wa_message_id FROM messages WHERE id = $1 FOR UPDATE"
_LOCK_BY_WA_ID = (
    "SELECT id, status, wa_message_id FROM messages WHERE wa_message_id = $1 FOR UPDATE"
)
_SET_STATUS = "UPDATE messages SET status = $2, reason = $3, wa_message_id = $4 WHERE id = $1"


def _not_yet(event: WhatsAppMessageStatusChanged) -> LookupError:
    """A status with no message to update: retried later (bounded). Rare since send
    commands are stored with their requester's change (`commit_with_events`)."""
    return LookupError(f"no message {event.message_id or event.wa_message_id} yet")


@dataclass
class MessageHandlers:
    sessions: async_sessionmaker[AsyncSession]
    relay: OutboxRelay
    # Status updates go through asyncpg directly (see `one_statement_engine`).
    autocommit: AsyncEngine

    async def _lead_id(self, session: AsyncSession, phone: str) -> str | None:
        lead = await repo.get_lead_by_phone(session, phone=phone)
        return lead.id if lead else None

    async def on_received(self, delivery: Delivery) -> None:
        event = delivery.event()
        assert isinstance(event, WhatsAppMessageReceived)
        async with self.sessions() as session:
            exists = await session.exec(
                select(Message.id).where(Message.wa_message_id == event.wa_message_id)
            )
            if exists.first() is not None:
                return  # WhatsApp redelivered it: stored once
            session.add(
                Message(
                    id=f"wa:{event.wa_message_id}",
                    session=event.session.value,
                    chat_jid=event.chat_jid,
                    phone=event.phone,
                    lead_id=await self._lead_id(session, event.phone),
                    direction="out" if event.from_me else "in",
                    sender=(event.push_name or event.phone) if not event.from_me else "phone",
                    text=event.text,
                    media_type=event.media_type,
                    wa_message_id=event.wa_message_id,
                    status="read" if event.from_me else "delivered",
                    read=event.from_me,
                    sent_at=event.sent_at,
                )
            )
            # A concurrent delivery of the same WhatsApp message may have stored it first.
            with contextlib.suppress(IntegrityError):
                await session.commit()

    async def on_send_requested(self, delivery: Delivery) -> None:
        command = delivery.event()
        assert isinstance(command, SendMessage)
        async with self.sessions() as session:
            # Normally recorded already, in the requester's own transaction.
            if await session.get(Message, command.message_id) is None:
                lead_id = command.lead_id or await self._lead_id(
                    session, jid_phone(command.chat_jid)
                )
                session.add(pending_message(command, lead_id))
                with contextlib.suppress(IntegrityError):  # recorded by its requester already
                    await session.commit()

    async def on_status(self, delivery: Delivery) -> None:
        event = delivery.event()
        assert isinstance(event, WhatsAppMessageStatusChanged)
        # Locked: "sent" and "delivered" are often handled at the same moment, and
        # without the lock the later commit could write the older status.
        async with asyncpg_transaction(self.autocommit) as connection:  # two or three trips
            row = None
            if event.message_id:
                row = await connection.fetchrow(_LOCK_BY_ID, event.message_id)
            if row is None and event.wa_message_id:
                row = await connection.fetchrow(_LOCK_BY_WA_ID, event.wa_message_id)
            if row is None:
                raise _not_yet(event)
            if moves_forward(row["status"], event.status.value):
                await connection.execute(
                    _SET_STATUS,
                    row["id"],
                    event.status.value,
                    event.reason,
                    row["wa_message_id"] or event.wa_message_id,
                )

    # --- chats RPC (consultant session) -----------------------------------------------

    async def _visible_chat(self, session: AsyncSession, actor: Actor, jid: str) -> str | None:
        """The chat's lead id; a consultant may only open chats of their own leads."""
        lead = await repo.get_lead_by_phone(session, phone=jid_phone(jid))
        if actor.role is Role.CONSULTANT and (lead is None or lead.consultant_id != actor.id):
            raise NotFound("chat not found")
        return lead.id if lead else None

    async def chat_messages(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        actor = parse(Actor, params["actor"])
        jid = str(params["jid"])
        limit = max(1, min(int(params.get("limit") or 50), 200))
        async with self.sessions() as session:
            await self._visible_chat(session, actor, jid)
            query = select(Message).where(
                Message.session == SessionName.CONSULTANT.value, Message.chat_jid == jid
            )
            if params.get("before"):
                try:
                    before = datetime.fromisoformat(str(params["before"]))
                except ValueError:
                    raise Invalid("before: must be an ISO-8601 time") from None
                query = query.where(col(Message.sent_at) < before)
            rows = (
                await session.exec(
                    query.order_by(col(Message.sent_at).desc(), col(Message.id).desc()).limit(limit)
                )
            ).all()
        return [message_json(row) for row in reversed(rows)]  # oldest first

    async def send_chat_message(self, params: dict[str, Any]) -> dict[str, Any]:
        actor = parse(Actor, params["actor"])
        jid = str(params["jid"])
        text = str(params.get("text") or "").strip()
        if not 1 <= len(text) <= 4096:
            raise Invalid("text: must be 1 to 4096 characters")
        async with self.sessions() as session:
            lead_id = await self._visible_chat(session, actor, jid)
            command = SendConsultantMessage(
                message_id=new_id(), chat_jid=jid, text=text, lead_id=lead_id, sender=actor.id
            )
            await commit_with_events(session, self.relay, command)
        return {"id": command.message_id, "status": MessageStatus.PENDING.value}

    async def mark_chat_read(self, params: dict[str, Any]) -> list[str]:
        """Marks the chat's inbound messages read; returns their WhatsApp ids."""
        actor = parse(Actor, params["actor"])
        jid = str(params["jid"])
        async with self.sessions() as session:
            await self._visible_chat(session, actor, jid)
            unread = (
                await session.exec(
                    select(Message.wa_message_id).where(
                        Message.session == SessionName.CONSULTANT.value,
                        Message.chat_jid == jid,
                        Message.direction == "in",
                        col(Message.read).is_(False),
                    )
                )
            ).all()
            await session.exec(
                update(Message)
                .where(col(Message.session) == SessionName.CONSULTANT.value)
                .where(col(Message.chat_jid) == jid)
                .where(col(Message.read).is_(False))
                .values(read=True)
            )
            await session.commit()
        return [wa_id for wa_id in unread if wa_id]

    async def chat_summaries(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """The newest chats of a session, to rebuild the in-memory chat index."""
        name = str(params.get("session") or SessionName.CONSULTANT.value)
        limit = int(params.get("limit") or 10_000)
        async with self.sessions() as session:
            latest = (
                select(Message.chat_jid, func.max(Message.sent_at).label("last"))
                .where(Message.session == name)
                .group_by(Message.chat_jid)
                .order_by(func.max(Message.sent_at).desc())
                .limit(limit)
                .subquery()
            )
            rows = (
                await session.exec(
                    select(Message)
                    .join(
                        latest,
                        (col(Message.chat_jid) == latest.c.chat_jid)
                        & (col(Message.sent_at) == latest.c.last),
                    )
                    .where(Message.session == name)
                )
            ).all()
            result = []
            for row in rows:
                unread = (
                    await session.exec(
                        select(func.count()).where(
                            Message.session == name,
                            Message.chat_jid == row.chat_jid,
                            Message.direction == "in",
                            col(Message.read).is_(False),
                        )
                    )
                ).one()
                lead = await session.get(Lead, row.lead_id) if row.lead_id else None
                result.append(
                    {
                        "jid": row.chat_jid,
                        "phone": row.phone,
                        "name": row.sender if row.direction == "in" else None,
                        "last_message": row.text,
                        "timestamp": row.sent_at.isoformat(),
                        "unread_count": int(unread),
                        "lead_id": row.lead_id,
                        "owner": lead.consultant_id if lead else None,
                    }
                )
        return result
