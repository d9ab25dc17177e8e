"""Pure rules of the consultants' inbox: whose a chat is, statuses, what a message looks
like, and the notice a consultant gets for a lead assigned to them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leadflow.events import (
    LeadAssigned,
    LeadView,
    MessageStatus,
    SendConsultantMessage,
    derived_event_id,
)
from leadflow.rpc import Invalid
from leadflow.whatsapp.jid import phone_jid

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


def _brl(value: Any) -> str | None:
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return "R$ " + f"{number:,.0f}".replace(",", ".")


def assignment_notice(lead: LeadView) -> str:
    """The WhatsApp message a consultant gets for a new lead: who, how hot, one line more."""
    data = lead.facts()
    facts = []
    asset = {"property": "imóvel", "vehicle": "veículo"}.get(str(data.get("asset_type")), "")
    if value := _brl(data.get("asset_value")):
        facts.append(f"{asset or 'bem'} de {value}")
    if down := _brl(data.get("down_payment")):
        facts.append(f"entrada {down}")
    if income := _brl(data.get("monthly_income")):
        facts.append(f"renda {income}")
    if city := data.get("city"):
        facts.append(str(city))
    summary = ", ".join(facts) if facts else (lead.ai_reasons[0] if lead.ai_reasons else "")
    temperature = lead.temperature.value if lead.temperature else "sem classificação"
    text = f"Novo lead para você: {lead.name} ({lead.phone}) — {temperature}"
    return f"{text}. {summary}" if summary else text


def assignment_notice_command(event: LeadAssigned) -> SendConsultantMessage | None:
    """The notice to the new consultant's own phone, if they have one. Its id is derived
    from the event's, so a redelivered lead.assigned stores and sends the same message."""
    if not event.consultant_phone:
        return None
    notice_id = derived_event_id(event.event_id, "notice")
    return SendConsultantMessage(
        event_id=notice_id,
        message_id=notice_id,
        occurred_at=event.occurred_at,
        correlation_id=event.correlation_id,
        chat_jid=phone_jid(event.consultant_phone),
        text=assignment_notice(event.lead),
        lead_id=event.lead.id,
        sender="system",
        notice=True,
    )
