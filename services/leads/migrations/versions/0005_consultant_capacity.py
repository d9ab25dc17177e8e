"""consultants.max_open_leads, for ASSIGNMENT_POLICY=capacity"""
import sqlalchemy as sa
from alembic import op

revision = "0005_consultant_capacity"
down_revision = "0001"


def upgrade() -> None:
    op.add_column("consultants", sa.Column("max_open_leads", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("consultants", "max_open_leads")
