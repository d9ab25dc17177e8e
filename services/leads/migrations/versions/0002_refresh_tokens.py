"""refresh-token families with reuse detection"""
import sqlalchemy as sa
from alembic import op
from leadflow.db.columns import TS, id_key

revision = "0002_auth"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "refresh_token_families",
        id_key(),
        sa.Column(
            "consultant_id", sa.String(32), sa.ForeignKey("consultants.id"), nullable=False,
            index=True,
        ),
        sa.Column("revoked_at", TS),
        sa.Column("revoked_reason", sa.String(64)),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "refresh_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column(
            "family_id", sa.String(32), sa.ForeignKey("refresh_token_families.id"),
            nullable=False, index=True,
        ),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("used_at", TS),
        sa.Column("created_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("refresh_tokens")
    op.drop_table("refresh_token_families")
