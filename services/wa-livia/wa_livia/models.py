"""Tables wa-livia owns: Lívia's conversations and their transcript (stored once)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from leadflow.db import UtcDateTime, outbox_tables
from leadflow.events import utcnow
from sqlalchemy import Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


def _ts() -> Any:
    return Field(default_factory=utcnow, sa_type=UtcDateTime)


class Conversation(SQLModel, table=True):
    """One per lead: its stage, what she collected, and whether she may speak."""

    __tablename__ = "livia_conversations"

    id: str = Field(primary_key=True, max_length=32)
    lead_id: str = Field(max_length=32, unique=True)
    lead_name: str = Field(max_length=255)
    chat_jid: str = Field(max_length=64, index=True)
    stage: str = Field(max_length=16)
    collected: dict[str, Any] = Field(default_factory=dict, sa_type=JSONB)
    paused: bool = False
    # When the oldest unanswered message arrived; a turn is due a debounce window later.
    pending_since: datetime | None = Field(default=None, sa_type=UtcDateTime, index=True)
    consultant_id: str | None = Field(default=None, max_length=32)
    consultant_name: str | None = Field(default=None, max_length=255)
    handoff_sent: bool = False
    # When the consultant was last reminded of a lead writing after the hand-off.
    consultant_reminded_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class ConversationMessage(SQLModel, table=True):
    """One message of the transcript: from the lead (in), Lívia or a person (out)."""

    __tablename__ = "livia_messages"

    id: str = Field(primary_key=True, max_length=32)
    conversation_id: str = Field(foreign_key="livia_conversations.id", index=True)
    direction: str = Field(max_length=3)
    author: str = Field(max_length=16)  # lead | livia | human
    text: str = Field(sa_type=Text)
    media_type: str | None = Field(default=None, max_length=16)
    transcript: str | None = Field(default=None, sa_type=Text)
    wa_message_id: str | None = Field(default=None, max_length=128, unique=True)
    answered: bool = True
    sent_at: datetime = Field(sa_type=UtcDateTime)


OUTBOX = outbox_tables(SQLModel.metadata, "wa_livia")
