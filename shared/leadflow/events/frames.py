"""What clients receive over `/ws` and `/api/events`, and what they may send (docs/API.md).

Frames are `{"id", "event", "data", "ts"}`; these models describe `data` per event for
the AsyncAPI document. The realtime service's tests hold every frame it builds to them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from leadflow.events.leads import LeadView
from leadflow.events.livia import LiviaStage
from leadflow.events.whatsapp import MessageStatus, SessionName, SessionStatus


class LeadAssignedNotice(BaseModel):
    """A lead was assigned to you."""

    type: Literal["lead_assigned"]
    lead: LeadView


class LeadReassignedNotice(BaseModel):
    """A lead of yours went to someone else (it waited past the SLA)."""

    type: Literal["lead_reassigned"]
    reason: str = Field(description="`sla`")
    lead_id: str
    lead_name: str
    consultant_id: str | None = Field(description="who has it now")


class ChatMessageFrame(BaseModel):
    """A WhatsApp message in a chat, either way."""

    id: str = Field(description="the WhatsApp message id")
    session: SessionName
    chat_jid: str
    phone: str
    direction: Literal["in", "out"]
    text: str = Field(description="the text; for media, a placeholder such as `[audio]`")
    media_type: str | None = Field(None, description="`audio` for a voice note; null for text")
    transcript: str | None = Field(
        None, description="a voice note's transcript; null when it could not be heard"
    )
    timestamp: datetime
    sender: str
    lead_id: str | None = Field(description="the chat's lead, when known")


class ChatMessageStatusFrame(BaseModel):
    """A sent message's delivery status changed."""

    id: str | None = Field(description="the message id from POST /api/chats/{jid}/messages")
    wa_message_id: str | None
    session: SessionName
    chat_jid: str
    status: MessageStatus
    reason: str | None = Field(description="why it failed")
    lead_id: str | None


class SessionFrame(BaseModel):
    """A WhatsApp session's status changed (never carries the pairing code)."""

    name: SessionName
    status: SessionStatus
    phone: str | None
    since: datetime


class StageChangedFrame(BaseModel):
    """Lívia's conversation with a lead moved to another stage."""

    lead_id: str
    conversation_id: str
    previous_stage: LiviaStage | None
    stage: LiviaStage


class ResyncFrame(BaseModel):
    """You may have missed events: refetch what you show."""

    reason: str


class RoomFrame(BaseModel):
    """The answer to join_room / leave_room."""

    room: str


class Pong(BaseModel):
    """The answer to ping."""


class ErrorFrame(BaseModel):
    """A client frame that was refused (not JSON, unknown action, a room not allowed)."""

    message: str


# event name -> (room, data model or models, description)
SERVER_FRAMES: dict[str, tuple[str, tuple[type[BaseModel], ...], str]] = {
    "kanban:lead_created": ("kanban", (LeadView,), "a lead was created"),
    "kanban:lead_updated": ("kanban", (LeadView,), "a lead changed"),
    "kanban:lead_assigned": ("kanban", (LeadView,), "a lead was assigned"),
    "notification": (
        "consultant:<id>",
        (LeadAssignedNotice, LeadReassignedNotice),
        "something for one consultant",
    ),
    "whatsapp:message": ("chat:<jid>", (ChatMessageFrame,), "a message in a chat"),
    "whatsapp:message_status": ("chat:<jid>", (ChatMessageStatusFrame,), "a delivery status"),
    "whatsapp:session": ("admin", (SessionFrame,), "a session's status"),
    "livia:stage_changed": ("kanban", (StageChangedFrame,), "Lívia's conversation moved on"),
    "resync": ("(any)", (ResyncFrame,), "events may have been missed: refetch"),
    "room_joined": ("(reply)", (RoomFrame,), "join_room was accepted"),
    "room_left": ("(reply)", (RoomFrame,), "leave_room was done"),
    "pong": ("(reply)", (Pong,), "the answer to ping"),
    "error": ("(reply)", (ErrorFrame,), "a client frame was refused"),
}


class JoinRoom(BaseModel):
    """Receive the events of a room you may see."""

    action: Literal["join_room"]
    room: str = Field(description="kanban, chat:<jid>, admin, consultant:<id>")


class LeaveRoom(BaseModel):
    """Stop receiving a room's events."""

    action: Literal["leave_room"]
    room: str


class Ping(BaseModel):
    """Answered with pong."""

    action: Literal["ping"]


CLIENT_FRAMES: tuple[type[BaseModel], ...] = (JoinRoom, LeaveRoom, Ping)
