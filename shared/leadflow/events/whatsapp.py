"""WhatsApp events and commands, shared by the two session services and their consumers.

Commands are addressed to one session's service by routing key
(`whatsapp.<session>.send_message`); events are published by the session services.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from leadflow.events.base import Event


class SessionName(StrEnum):
    CONSULTANT = "consultant"
    LIVIA = "livia"


class SessionStatus(StrEnum):
    CONNECTED = "connected"
    CONNECTING = "connecting"
    PAIRING = "pairing"
    DISCONNECTED = "disconnected"
    LOGGED_OUT = "logged_out"


class MessageStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


class ChatVisibility(BaseModel):
    """Who may see a message of the consultant session (wa-consultant fills it in)."""

    lead_id: str | None = Field(
        None, description="consultant session: the lead whose chat this is, if any"
    )
    consultant_id: str | None = Field(
        None, description="consultant session: the consultant of that lead, who may see it"
    )
    notice: bool = Field(
        False,
        description="consultant session: a notice to a consultant's own phone, not a lead "
        "chat; no client but an admin sees it",
    )


class WhatsAppMessageReceived(Event, ChatVisibility):
    """A message arrived on a session (from a contact, or typed on the session's own phone)."""

    name = "whatsapp.message_received"
    session: SessionName
    wa_message_id: str = Field(description="WhatsApp's message id; the idempotency key")
    chat_jid: str = Field(description="the contact's chat, always its phone-number JID")
    phone: str = Field(description="the contact's phone, +E.164")
    push_name: str | None = Field(None, description="the name the contact set in WhatsApp")
    text: str = Field(description="the text, or a placeholder like [image] for media")
    media_type: str | None = Field(None, description="image, audio, video, document, sticker")
    transcript: str | None = Field(
        None, description="what an audio message says (speech-to-text), when it could be heard"
    )
    sent_at: datetime = Field(description="WhatsApp's own timestamp (order by this)")
    from_me: bool = Field(
        False, description="typed by a person on the session's own phone, not sent by us"
    )


class SendMessage(Event):
    """Send a text from a session; the session service answers with status events."""

    message_id: str = Field(description="our id of the outgoing message (status events use it)")
    chat_jid: str
    text: str = Field(min_length=1, max_length=4096)
    typing_ms: int = Field(0, ge=0, description="show the typing indicator this long first")
    lead_id: str | None = None
    sender: str = Field(description="consultant id, `livia` or `system`")
    notice: bool = Field(
        False, description="a notice to a consultant's own phone, never part of a lead chat"
    )


class SendConsultantMessage(SendMessage):
    name = "whatsapp.consultant.send_message"


class SendLiviaMessage(SendMessage):
    name = "whatsapp.livia.send_message"


# The command each session's service consumes (its routing key addresses that session).
SEND_COMMANDS: dict[SessionName, type[SendMessage]] = {
    SessionName.CONSULTANT: SendConsultantMessage,
    SessionName.LIVIA: SendLiviaMessage,
}


class WhatsAppMessageStatusChanged(Event, ChatVisibility):
    name = "whatsapp.message_status_changed"
    session: SessionName
    message_id: str = Field(description="our id of the outgoing message")
    wa_message_id: str | None = Field(None, description="WhatsApp's id, once sent")
    chat_jid: str
    status: MessageStatus
    reason: str | None = Field(None, description="why it failed")


class WhatsAppSessionStatusChanged(Event):
    name = "whatsapp.session_status_changed"
    session: SessionName
    status: SessionStatus
    phone: str | None = None
    qr: str | None = Field(None, description="the pairing code to render as a QR, while pairing")
    qr_expires_at: datetime | None = None
    since: datetime
