"""The tables wa-consultant owns: the consultants' inbox and its projections of leads.

- `inbox_messages`: every message of the consultant session, in and out, with its status
  (a voice note: `media_type` audio, its `transcript`).
  A notice to a consultant (`notice`) is kept for admins and is never a lead chat's.
- `inbox_chats`: one row per lead chat (notices never make one), updated in the same
  transaction as the message that changes it, so the list never runs ahead of a history.
- `inbox_leads`, `inbox_consultant_phones`: what wa-consultant knows from lead and
  consultant events, to decide who may see a chat (one rule: `repository.visible_chat`).
"""

from __future__ import annotations

from leadflow.db import UtcDateTime, outbox_tables
from sqlalchemy import Boolean, Column, Index, Integer, MetaData, String, Table, Text

METADATA = MetaData()

MESSAGES = Table(
    "inbox_messages",
    METADATA,
    Column("id", String(64), primary_key=True),
    Column("chat_jid", String(64), nullable=False),
    Column("phone", String(20), nullable=False),
    Column("lead_id", String(32)),
    Column("direction", String(3), nullable=False),
    Column("sender", String(64), nullable=False),
    Column("text", Text(), nullable=False),
    Column("media_type", String(16)),
    Column("transcript", Text()),  # a voice note's words, when ai could hear them
    Column("wa_message_id", String(128), unique=True),
    Column("status", String(16), nullable=False),
    Column("reason", Text()),
    Column("read", Boolean(), nullable=False),
    Column("notice", Boolean(), nullable=False),
    Column("sent_at", UtcDateTime(), nullable=False),
    Index("ix_inbox_messages_chat", "chat_jid", "sent_at"),
)

CHATS = Table(
    "inbox_chats",
    METADATA,
    Column("jid", String(64), primary_key=True),
    Column("phone", String(20), nullable=False),
    Column("push_name", String(255)),
    Column("last_message", Text(), nullable=False),
    Column("last_at", UtcDateTime(), nullable=False, index=True),
    Column("unread_count", Integer(), nullable=False),
)

LEADS = Table(
    "inbox_leads",
    METADATA,
    Column("id", String(32), primary_key=True),
    Column("phone", String(20), nullable=False, index=True),
    Column("name", String(255), nullable=False),
    Column("consultant_id", String(32)),
    Column("version", Integer(), nullable=False),
)

CONSULTANT_PHONES = Table(
    "inbox_consultant_phones",
    METADATA,
    Column("consultant_id", String(32), primary_key=True),
    Column("phone", String(20), nullable=False, index=True),
)

OUTBOX = outbox_tables(METADATA, "wa_consultant")
