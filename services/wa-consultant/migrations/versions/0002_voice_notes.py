"""a voice note in the inbox keeps its transcript (what the lead said, when it was heard)"""
import sqlalchemy as sa
from alembic import op

revision = "0002_voice_notes"
down_revision = "0001_inbox"


def upgrade() -> None:
    op.add_column("inbox_messages", sa.Column("transcript", sa.Text()))


def downgrade() -> None:
    op.drop_column("inbox_messages", "transcript")
