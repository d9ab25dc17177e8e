"""capacity counters, assignment time (SLA) and realtime presence"""
import sqlalchemy as sa
from alembic import op
from leadflow.db.columns import TS

revision = "0003_policies"
down_revision = "0002_lead_states"


def upgrade() -> None:
    op.add_column("assignment_consultants", sa.Column("max_open_leads", sa.Integer()))
    op.add_column(
        "assignment_consultants",
        sa.Column("open_leads", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column("assignment_lead_states", sa.Column("assigned_at", TS))
    op.create_index(
        "ix_assignment_lead_states_assigned_at", "assignment_lead_states", ["assigned_at"]
    )
    # Leads already assigned count as open from now on; their column decides.
    op.execute(
        "UPDATE assignment_consultants SET open_leads = (SELECT count(*) FROM"
        " assignment_lead_states s WHERE s.consultant_id = assignment_consultants.id"
        " AND s.status NOT IN ('WON', 'LOST'))"
    )
    op.create_table(
        "assignment_presence",
        sa.Column("replica_id", sa.String(64), primary_key=True),
        sa.Column("consultant_ids", sa.JSON(), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("assignment_presence")
    op.drop_index("ix_assignment_lead_states_assigned_at", "assignment_lead_states")
    op.drop_column("assignment_lead_states", "assigned_at")
    op.drop_column("assignment_consultants", "open_leads")
    op.drop_column("assignment_consultants", "max_open_leads")
