"""each lead's consultant and status, for per-consultant stats

Revision ID: 0002_lead_states
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002_lead_states"
down_revision = "0001"
branch_labels = ("lead_states",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assignment_lead_states",
        sa.Column("lead_id", sa.String(32), primary_key=True),
        sa.Column("consultant_id", sa.String(32), index=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("assignment_lead_states")
