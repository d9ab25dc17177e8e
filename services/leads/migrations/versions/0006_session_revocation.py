"""access tokens end at once: a session generation per consultant, revoked access tokens"""
import sqlalchemy as sa
from alembic import op
from leadflow.db.columns import TS

revision = "0006_session_revocation"
down_revision = "0002_auth"


def upgrade() -> None:
    op.add_column(
        "consultants",
        sa.Column("session_generation", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_table(
        "revoked_access_tokens",
        sa.Column("jti", sa.String(64), primary_key=True),
        sa.Column("consultant_id", sa.String(32), nullable=False, index=True),
        sa.Column("expires_at", TS, nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("revoked_access_tokens")
    op.drop_column("consultants", "session_generation")
