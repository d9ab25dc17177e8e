"""consultant projection, rotation cursor, stats, waiting leads, outbox"""
import sqlalchemy as sa
from alembic import op
from leadflow.db import create_outbox_tables, drop_outbox_tables
from leadflow.db.columns import TS, id_key

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "assignment_consultants",
        id_key(),
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
        id_key("consultant_id"),
        sa.Column("assigned_total", sa.Integer(), nullable=False),
        sa.Column("last_assigned_at", TS),
    )
    op.create_table(
        "assignment_waiting",
        id_key("lead_id"),
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
