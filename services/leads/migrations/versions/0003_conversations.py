"""Lívia conversations and their transcript"""
import sqlalchemy as sa
from alembic import op
from leadflow.db.columns import JSON, TS, id_key, timestamps

revision = "0003_conversations"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "conversations",
        id_key(),
        sa.Column("lead_id", sa.String(32), sa.ForeignKey("leads.id"), nullable=False, unique=True),
        sa.Column("chat_jid", sa.String(64), nullable=False, index=True),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("collected", JSON, nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("pending_since", TS, index=True),
        sa.Column("handoff_sent", sa.Boolean(), nullable=False),
        *timestamps(),
    )
    op.create_table(
        "conversation_lines",
        id_key(),
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
