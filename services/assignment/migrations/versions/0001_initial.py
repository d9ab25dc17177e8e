"""consultant projection, rotation cursor, stats, waiting leads, outbox

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

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
    op.create_table(
        "assignment_outbox",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(64), nullable=False, unique=True),
        sa.Column("routing_key", sa.String(128), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("correlation_id", sa.String(64)),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("published_at", TS, index=True),
    )
    op.create_table(
        "assignment_handled_events",
        sa.Column("event_id", sa.String(128), primary_key=True),
        sa.Column("handled_at", TS, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "assignment_handled_events",
        "assignment_outbox",
        "assignment_waiting",
        "assignment_stats",
        "assignment_cursor",
        "assignment_consultants",
    ):
        op.drop_table(table)
