"""Every SQL statement of wa-consultant (PostgreSQL), keyword-only arguments.

Each function runs in the caller's transaction (`AsyncConnection`); the caller commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from leadflow.contracts import Actor
from leadflow.db import event_arrays, stage_events
from leadflow.events import Event, LeadView, MessageStatus, utcnow
from sqlalchemy import RowMapping, text
from sqlalchemy.ext.asyncio import AsyncConnection

from wa_consultant.domain import Audience, moves_forward
from wa_consultant.models import OUTBOX

# The one visibility rule, for the list and for a single chat alike (`c` is the chat,
# `l` its lead): never a consultant's own phone (notices are not lead chats); a
# consultant sees the chats of their own leads, admins and managers every lead chat.
VISIBLE = """
    NOT EXISTS (SELECT FROM inbox_consultant_phones p WHERE p.phone = c.phone)
    AND (CAST(:staff AS boolean) OR l.consultant_id = CAST(:actor AS varchar))
"""

_AUDIENCE = text(
    """
    SELECT l.id AS lead_id, l.consultant_id,
           EXISTS (SELECT FROM inbox_consultant_phones p WHERE p.phone = c.phone) AS notice
    FROM (SELECT CAST(:phone AS varchar) AS phone) c
    LEFT JOIN inbox_leads l ON l.phone = c.phone
    """
)
_VISIBLE_CHAT = text(
    f"""
    SELECT l.id AS lead_id
    FROM (SELECT CAST(:phone AS varchar) AS phone) c
    LEFT JOIN inbox_leads l ON l.phone = c.phone
    WHERE {VISIBLE}
    """
)
_LIST_CHATS = text(
    f"""
    SELECT c.jid, c.phone, c.push_name, c.last_message, c.last_at, c.unread_count,
           l.id AS lead_id, l.name AS lead_name
    FROM inbox_chats c LEFT JOIN inbox_leads l ON l.phone = c.phone
    WHERE {VISIBLE}
    ORDER BY c.last_at DESC, c.jid
    LIMIT :limit
    """
)
_INSERT_MESSAGE = text(
    """
    INSERT INTO inbox_messages (id, chat_jid, phone, lead_id, direction, sender, text,
        media_type, transcript, wa_message_id, status, reason, read, notice, sent_at)
    VALUES (:id, :chat_jid, :phone, :lead_id, :direction, :sender, :text, :media_type,
        :transcript, :wa_message_id, :status, NULL, :read, :notice, :sent_at)
    ON CONFLICT DO NOTHING
    RETURNING id
    """
)
# A chat moves to its newest message; an older one arriving late changes only its count.
_TOUCH_CHAT = text(
    """
    INSERT INTO inbox_chats AS c (jid, phone, push_name, last_message, last_at, unread_count)
    VALUES (:jid, :phone, :push_name, :text, :at, :unread)
    ON CONFLICT (jid) DO UPDATE SET
        push_name = COALESCE(EXCLUDED.push_name, c.push_name),
        last_message = CASE WHEN EXCLUDED.last_at >= c.last_at
                            THEN EXCLUDED.last_message ELSE c.last_message END,
        last_at = GREATEST(EXCLUDED.last_at, c.last_at),
        unread_count = c.unread_count + EXCLUDED.unread_count
    """
)
_LOCK_MESSAGE = text(
    """
    SELECT id, phone, status, notice FROM inbox_messages
    WHERE id = :id OR (CAST(:wa_id AS varchar) IS NOT NULL AND wa_message_id = :wa_id)
    ORDER BY id = :id DESC LIMIT 1
    FOR UPDATE
    """
)
_SET_STATUS = text(
    """
    UPDATE inbox_messages SET status = :status, reason = :reason,
        wa_message_id = COALESCE(wa_message_id, :wa_id)
    WHERE id = :id
    """
)
_UNSENT = text("SELECT status = 'pending' FROM inbox_messages WHERE id = :id")
_HISTORY = text(
    """
    SELECT id, direction, text, media_type, transcript, sent_at, status, sender,
           wa_message_id, reason
    FROM inbox_messages
    WHERE chat_jid = :jid AND NOT notice
      AND (CAST(:before AS timestamptz) IS NULL OR sent_at < CAST(:before AS timestamptz))
    ORDER BY sent_at DESC, id DESC
    LIMIT :limit
    """
)
_MARK_READ = text(
    """
    UPDATE inbox_messages SET read = true
    WHERE chat_jid = :jid AND direction = 'in' AND NOT read AND NOT notice
    RETURNING wa_message_id
    """
)
_CHAT_READ = text("UPDATE inbox_chats SET unread_count = 0 WHERE jid = :jid")
_NOTICES = text(
    """
    SELECT m.id, m.direction, m.text, m.media_type, m.transcript, m.sent_at, m.status,
           m.sender, m.wa_message_id, m.reason, m.phone, p.consultant_id
    FROM inbox_messages m LEFT JOIN inbox_consultant_phones p ON p.phone = m.phone
    WHERE m.notice AND (CAST(:consultant AS varchar) IS NULL OR p.consultant_id = :consultant)
    ORDER BY m.sent_at DESC, m.id DESC
    LIMIT :limit
    """
)
_SAVE_LEAD = text(
    """
    INSERT INTO inbox_leads AS l (id, phone, name, consultant_id, version)
    VALUES (:id, :phone, :name, :consultant_id, :version)
    ON CONFLICT (id) DO UPDATE SET phone = EXCLUDED.phone, name = EXCLUDED.name,
        consultant_id = EXCLUDED.consultant_id, version = EXCLUDED.version
    WHERE l.version <= EXCLUDED.version
    """
)
_SAVE_CONSULTANT_PHONE = text(
    """
    INSERT INTO inbox_consultant_phones (consultant_id, phone) VALUES (:id, :phone)
    ON CONFLICT (consultant_id) DO UPDATE SET phone = EXCLUDED.phone
    """
)
_FORGET_CONSULTANT_PHONE = text("DELETE FROM inbox_consultant_phones WHERE consultant_id = :id")
_STAGE = text(stage_events(OUTBOX))


async def audience_of(connection: AsyncConnection, *, phone: str) -> Audience:
    """The lead (and its consultant) of a phone's chat, and whether it is a notice chat."""
    row = (await connection.execute(_AUDIENCE, {"phone": phone})).mappings().one()
    return Audience(row["lead_id"], row["consultant_id"], bool(row["notice"]))


async def visible_chat(connection: AsyncConnection, *, actor: Actor, phone: str) -> str | None:
    """The chat's lead id if `actor` may see the chat; raises LookupError otherwise."""
    params = {"phone": phone, "staff": actor.is_staff, "actor": actor.id}
    row = (await connection.execute(_VISIBLE_CHAT, params)).mappings().first()
    if row is None:
        raise LookupError(phone)
    lead_id: str | None = row["lead_id"]
    return lead_id


async def list_chats(
    connection: AsyncConnection, *, actor: Actor, limit: int
) -> Sequence[RowMapping]:
    params = {"staff": actor.is_staff, "actor": actor.id, "limit": limit}
    return (await connection.execute(_LIST_CHATS, params)).mappings().all()


async def add_message(
    connection: AsyncConnection,
    *,
    message_id: str,
    chat_jid: str,
    phone: str,
    audience: Audience,
    incoming: bool,
    sender: str,
    body: str,
    sent_at: datetime,
    status: MessageStatus,
    wa_message_id: str | None = None,
    media_type: str | None = None,
    transcript: str | None = None,
    push_name: str | None = None,
) -> bool:
    """Stores a message once (by our id or WhatsApp's); a lead chat's row moves with it
    in the same transaction. False if it was stored already."""
    params: dict[str, Any] = {
        "id": message_id,
        "chat_jid": chat_jid,
        "phone": phone,
        "lead_id": audience.lead_id,
        "direction": "in" if incoming else "out",
        "sender": sender,
        "text": body,
        "media_type": media_type,
        "transcript": transcript,
        "wa_message_id": wa_message_id,
        "status": status.value,
        "read": not incoming,
        "notice": audience.notice,
        "sent_at": sent_at,
    }
    if (await connection.execute(_INSERT_MESSAGE, params)).first() is None:
        return False
    if not audience.notice:
        chat = {
            "jid": chat_jid,
            "phone": phone,
            "push_name": push_name if incoming else None,
            "text": body,
            "at": sent_at,
            "unread": 1 if incoming else 0,
        }
        await connection.execute(_TOUCH_CHAT, chat)
    return True


async def set_status(
    connection: AsyncConnection,
    *,
    message_id: str,
    wa_message_id: str | None,
    status: MessageStatus,
    reason: str | None,
) -> dict[str, Any] | None:
    """Moves a message's status forward (locked: 'sent' and 'delivered' often arrive
    together, in either order); returns the message's phone, notice flag and whether the
    status `moved`, or None if the message is unknown."""
    params = {"id": message_id, "wa_id": wa_message_id}
    row = (await connection.execute(_LOCK_MESSAGE, params)).mappings().first()
    if row is None:
        return None
    moved = moves_forward(row["status"], status)
    if moved:
        update = {"id": row["id"], "status": status.value, "reason": reason}
        await connection.execute(_SET_STATUS, {**update, "wa_id": wa_message_id})
    return {"phone": row["phone"], "notice": row["notice"], "moved": moved}


async def unsent(connection: AsyncConnection, *, message_id: str) -> bool:
    """Whether a stored outgoing message is still to be sent (pending)."""
    return bool((await connection.execute(_UNSENT, {"id": message_id})).scalar())


async def history(
    connection: AsyncConnection, *, chat_jid: str, before: datetime | None, limit: int
) -> list[RowMapping]:
    """A lead chat's messages, oldest first: the `limit` newest before `before`."""
    params = {"jid": chat_jid, "before": before, "limit": limit}
    rows = (await connection.execute(_HISTORY, params)).mappings().all()
    return list(reversed(rows))


async def mark_read(connection: AsyncConnection, *, chat_jid: str) -> list[str]:
    """Marks a chat's inbound messages read; returns their WhatsApp ids."""
    rows = (await connection.execute(_MARK_READ, {"jid": chat_jid})).all()
    await connection.execute(_CHAT_READ, {"jid": chat_jid})
    return [wa_id for (wa_id,) in rows if wa_id]


async def notices(
    connection: AsyncConnection, *, consultant_id: str | None, limit: int
) -> Sequence[RowMapping]:
    """Notices to consultants (and their answers), newest first: for admins."""
    params = {"consultant": consultant_id, "limit": limit}
    return (await connection.execute(_NOTICES, params)).mappings().all()


async def save_lead(connection: AsyncConnection, *, lead: LeadView) -> None:
    """The projection keeps a lead's newest version (events may arrive out of order)."""
    params = {
        "id": lead.id,
        "phone": lead.phone,
        "name": lead.name,
        "consultant_id": lead.consultant_id,
        "version": lead.version,
    }
    await connection.execute(_SAVE_LEAD, params)


async def save_consultant_phone(
    connection: AsyncConnection, *, consultant_id: str, phone: str | None
) -> None:
    if phone:
        await connection.execute(_SAVE_CONSULTANT_PHONE, {"id": consultant_id, "phone": phone})
    else:
        await connection.execute(_FORGET_CONSULTANT_PHONE, {"id": consultant_id})


async def stage(connection: AsyncConnection, *events: Event) -> None:
    """Events published by the relay once the caller's transaction commits."""
    if events:
        await connection.execute(_STAGE, {**event_arrays(events), "now": utcnow()})
