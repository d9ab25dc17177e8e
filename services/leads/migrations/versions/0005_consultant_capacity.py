"""consultants.max_open_leads, for ASSIGNMENT_POLICY=capacity

Revision ID: 0005_consultant_capacity
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_consultant_capacity"
down_revision = "0001"
branch_labels = ("consultant_capacity",)
depends_on = None


def upgrade() -> None:
    op.add_column("consultants", sa.Column("max_open_leads", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("consultants", "max_open_leads")
