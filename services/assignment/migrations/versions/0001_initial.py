"""consultant projection, rotation cursor, stats, waiting leads, outbox

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op
from leadflow.db import create_outbox_tables, drop_outbox_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "assignment_consultants",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    cursor = op.create_table(
        "assignment_cursor",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("position", sa.BigInteger(), nullable=False),
    )
    op.bulk_insert(cursor, [{"id": 1, "position": 0}])
    op.create_table(
        "assignment_stats",
        sa.Column("consultant_id", sa.String(32), primary_key=True),
        sa.Column("assigned_total", sa.Integer(), nullable=False),
        sa.Column("last_assigned_at", TS),
    )
    op.create_table(
        "assignment_waiting",
        sa.Column("lead_id", sa.String(32), primary_key=True),
        sa.Column("temperature", sa.String(8)),
        sa.Column("lead_created_at", TS, nullable=False),
        sa.Column("requested_at", TS, nullable=False),
    )
    create_outbox_tables("assignment")


def downgrade() -> None:
    drop_outbox_tables("assignment")
    for table in (
        "assignment_waiting",
        "assignment_stats",
        "assignment_cursor",
        "assignment_consultants",
    ):
        op.drop_table(table)
