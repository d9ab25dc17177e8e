"""Lívia conversations and their transcript

Revision ID: 0003_conversations
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003_conversations"
down_revision = "0001"
branch_labels = ("conversations",)
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("lead_id", sa.String(32), sa.ForeignKey("leads.id"), nullable=False, unique=True),
        sa.Column("chat_jid", sa.String(64), nullable=False, index=True),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("collected", JSON, nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("pending_since", TS, index=True),
        sa.Column("handoff_sent", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "conversation_lines",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "conversation_id", sa.String(32), sa.ForeignKey("conversations.id"), nullable=False,
            index=True,
        ),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("author", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("wa_message_id", sa.String(128), unique=True),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.Column("sent_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("conversation_lines")
    op.drop_table("conversations")
