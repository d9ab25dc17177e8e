"""Pure rules of the consultants' inbox: whose a chat is, statuses, what a message looks like."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leadflow.events import MessageStatus
from leadflow.rpc import Invalid

STATUS_ORDER = {"pending": 0, "sent": 1, "delivered": 2, "read": 3, "failed": 4}
MAX_TEXT = 4096
# The lead fields the inbox keeps (`inbox_leads`): whose chat a phone is, and its name.
PROJECTED_LEAD_FIELDS = frozenset({"phone", "name", "consultant_id"})


@dataclass(frozen=True)
class Audience:
    """Whose a chat is: its lead and the lead's consultant; a notice chat is nobody's."""

    lead_id: str | None = None
    consultant_id: str | None = None
    notice: bool = False


def changes_the_projection(changed: Sequence[str]) -> bool:
    """Whether a lead.updated touches what the inbox keeps of a lead; one that does not
    (a status, notes) needs no write: the version it skips guards nothing, as
    the fields it guards did not change."""
    return not PROJECTED_LEAD_FIELDS.isdisjoint(changed)


def moves_forward(current: str, new: MessageStatus) -> bool:
    """Statuses never go back (a late 'sent' after 'read' changes nothing); failed is final."""
    if current in ("failed", "read"):
        return False
    return STATUS_ORDER[new.value] > STATUS_ORDER[current]


def outgoing_text(value: Any) -> str:
    text = str(value or "").strip()
    if not 1 <= len(text) <= MAX_TEXT:
        raise Invalid(f"text: must be 1 to {MAX_TEXT} characters")
    return text


def before_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        raise Invalid("before: must be an ISO-8601 time") from None


def page_size(value: Any, *, default: int, most: int) -> int:
    return max(1, min(int(value or default), most))


def message_json(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "direction": row["direction"],
        "text": row["text"],
        "media_type": row["media_type"],
        "transcript": row["transcript"],
        "timestamp": row["sent_at"].isoformat(),
        "status": row["status"],
        "sender": row["sender"],
        "wa_message_id": row["wa_message_id"],
        "reason": row["reason"],
    }


def chat_json(row: Any) -> dict[str, Any]:
    """A chat as the list shows it: the lead's name when it has one, else the contact's."""
    return {
        "id": row["jid"],
        "name": row["lead_name"] or row["push_name"] or row["phone"],
        "phone": row["phone"],
        "last_message": row["last_message"],
        "timestamp": row["last_at"].isoformat(),
        "unread_count": row["unread_count"],
        "lead_id": row["lead_id"],
    }
