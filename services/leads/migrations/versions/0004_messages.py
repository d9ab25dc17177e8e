"""every WhatsApp message of both sessions, in and out, with its status"""
import sqlalchemy as sa
from alembic import op
from leadflow.db.columns import TS

revision = "0004_messages"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "messages",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("session", sa.String(16), nullable=False),
        sa.Column("chat_jid", sa.String(64), nullable=False),
        sa.Column("phone", sa.String(20), nullable=False),
        sa.Column("lead_id", sa.String(32), index=True),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("sender", sa.String(64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("media_type", sa.String(16)),
        sa.Column("wa_message_id", sa.String(128), unique=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("read", sa.Boolean(), nullable=False),
        sa.Column("sent_at", TS, nullable=False),
    )
    op.create_index("ix_messages_chat", "messages", ["session", "chat_jid", "sent_at"])


def downgrade() -> None:
    op.drop_table("messages")
