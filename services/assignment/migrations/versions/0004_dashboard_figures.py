"""consultants' names and leads' arrival, for the dashboard's per-consultant figures"""
import sqlalchemy as sa
from alembic import op
from leadflow.db.columns import TS

revision = "0004_dashboard_figures"
down_revision = "0003_policies"


def upgrade() -> None:
    op.add_column(
        "assignment_consultants",
        sa.Column("name", sa.String(255), nullable=False, server_default=""),
    )
    op.add_column("assignment_lead_states", sa.Column("lead_created_at", TS))
    # An installation from before: the leads service's tables, in the same database, hold
    # what the projection had no column for; later consultant.saved and lead events keep it.
    bind = op.get_bind()
    if bind.exec_driver_sql("SELECT to_regclass('consultants')").scalar() is not None:
        op.execute(
            "UPDATE assignment_consultants AS a SET name = c.name FROM consultants AS c"
            " WHERE c.id = a.id"
        )
    if bind.exec_driver_sql("SELECT to_regclass('leads')").scalar() is not None:
        op.execute(
            "UPDATE assignment_lead_states AS s SET lead_created_at = l.created_at"
            " FROM leads AS l WHERE l.id = s.lead_id"
        )


def downgrade() -> None:
    op.drop_column("assignment_lead_states", "lead_created_at")
    op.drop_column("assignment_consultants", "name")
