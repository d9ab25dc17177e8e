"""Lívia's conversations and their transcript, moved here from the leads service

An installation that kept conversations in the leads service's `conversations` and
`conversation_lines` tables has its rows carried over here, and those tables dropped,
in this one transaction. The leads service's own migration (0006) only ever drops them
empty; both take the same advisory lock, so whichever runs first, no row is lost.
"""
import sqlalchemy as sa
from alembic import op
from leadflow.db import create_outbox_tables, drop_outbox_tables
from leadflow.db.columns import TS, id_key, timestamps
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None

# Shared with services/leads/migrations/versions/0006_conversations_moved.py.
MOVE_LOCK = 7_313_001


def upgrade() -> None:
    op.execute(f"SELECT pg_advisory_xact_lock({MOVE_LOCK})")
    op.create_table(
        "livia_conversations",
        id_key(),
        sa.Column("lead_id", sa.String(32), nullable=False, unique=True),
        sa.Column("lead_name", sa.String(255), nullable=False),
        sa.Column("chat_jid", sa.String(64), nullable=False, index=True),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("collected", JSONB, nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("pending_since", TS, index=True),
        sa.Column("consultant_id", sa.String(32)),
        sa.Column("consultant_name", sa.String(255)),
        sa.Column("handoff_sent", sa.Boolean(), nullable=False),
        sa.Column("consultant_reminded_at", TS),
        *timestamps(),
    )
    op.create_table(
        "livia_messages",
        id_key(),
        sa.Column(
            "conversation_id",
            sa.String(32),
            sa.ForeignKey("livia_conversations.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("author", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("media_type", sa.String(16)),
        sa.Column("transcript", sa.Text()),
        sa.Column("wa_message_id", sa.String(128), unique=True),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.Column("sent_at", TS, nullable=False),
    )
    create_outbox_tables("wa_livia")
    carry_over_from_leads()


def carry_over_from_leads() -> None:
    """Rows of the leads service's conversation tables, if this installation has them."""
    bind = op.get_bind()
    if bind.exec_driver_sql("SELECT to_regclass('conversations')").scalar() is None:
        return
    # The lead's name greets them at the hand-off; consultant names come with the next
    # assignment event, and a conversation already handed off keeps `handoff_sent`.
    op.execute(
        """
        INSERT INTO livia_conversations (
            id, lead_id, lead_name, chat_jid, stage, collected, paused, pending_since,
            consultant_id, consultant_name, handoff_sent, created_at, updated_at
        )
        SELECT c.id, c.lead_id, COALESCE(l.name, ''), c.chat_jid, c.stage,
               CAST(c.collected AS jsonb), c.paused, c.pending_since,
               l.consultant_id, k.name, c.handoff_sent, c.created_at, c.updated_at
        FROM conversations c
        LEFT JOIN leads l ON l.id = c.lead_id
        LEFT JOIN consultants k ON k.id = l.consultant_id
        """
    )
    op.execute(
        """
        INSERT INTO livia_messages (
            id, conversation_id, direction, author, text, wa_message_id, answered, sent_at
        )
        SELECT id, conversation_id, direction, author, text, wa_message_id, answered, sent_at
        FROM conversation_lines
        """
    )
    # WhatsApp redelivers messages: one stored before the upgrade is still known as handled.
    op.execute(
        """
        INSERT INTO wa_livia_handled_events (event_id, handled_at)
        SELECT 'livia:' || wa_message_id, now() FROM conversation_lines
        WHERE wa_message_id IS NOT NULL
        """
    )
    op.execute("DROP TABLE conversation_lines")
    op.execute("DROP TABLE conversations")


def downgrade() -> None:
    drop_outbox_tables("wa_livia")
    op.drop_table("livia_messages")
    op.drop_table("livia_conversations")
