"""consultants, leads, interactions, idempotency keys, outbox"""
import sqlalchemy as sa
from alembic import op
from leadflow.db import create_outbox_tables, drop_outbox_tables
from leadflow.db.columns import JSON, TS, id_key, timestamps

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "consultants",
        id_key(),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False, index=True),
        sa.Column("phone", sa.String(20)),
        sa.Column("active", sa.Boolean(), nullable=False),
        *timestamps(),
    )
    op.create_table(
        "leads",
        id_key(),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("phone", sa.String(20), nullable=False, unique=True),
        sa.Column("email", sa.String(320)),
        sa.Column("source", sa.String(16), nullable=False, index=True),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("temperature", sa.String(8), index=True),
        sa.Column("ai_score", sa.Integer()),
        sa.Column("ai_reasons", JSON, nullable=False),
        sa.Column("classified_by", sa.String(16)),
        sa.Column("consultant_id", sa.String(32), sa.ForeignKey("consultants.id"), index=True),
        sa.Column("created_by", sa.String(32)),
        sa.Column("notes", sa.Text()),
        sa.Column("metadata", JSON, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        *timestamps(index_created=True),
    )
    op.create_table(
        "interactions",
        id_key(),
        sa.Column("lead_id", sa.String(32), sa.ForeignKey("leads.id"), nullable=False, index=True),
        sa.Column("actor_id", sa.String(32)),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("changes", JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("lead_id", sa.String(32), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    create_outbox_tables("leads")


def downgrade() -> None:
    drop_outbox_tables("leads")
    for table in (
        "idempotency_keys",
        "interactions",
        "leads",
        "consultants",
    ):
        op.drop_table(table)
