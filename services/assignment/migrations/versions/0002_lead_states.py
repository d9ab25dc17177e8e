"""each lead's consultant and status, for per-consultant stats"""
import sqlalchemy as sa
from alembic import op
from leadflow.db.columns import id_key

revision = "0002_lead_states"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "assignment_lead_states",
        id_key("lead_id"),
        sa.Column("consultant_id", sa.String(32), index=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("assignment_lead_states")
