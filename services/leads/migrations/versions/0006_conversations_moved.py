"""Lívia's conversations belong to wa-livia now

wa-livia's first migration carries the rows of `conversations` and `conversation_lines`
into its own tables and drops these. Here they are dropped only when empty (a new
installation, where 0003 just created them): with rows in them they wait for wa-livia.
Both migrations take the same advisory lock, so they never interleave.
"""
from alembic import op

revision = "0006_conversations_moved"
down_revision = "0003_conversations"

# Shared with services/wa-livia/migrations/versions/0001_conversations.py.
MOVE_LOCK = 7_313_001


def upgrade() -> None:
    op.execute(f"SELECT pg_advisory_xact_lock({MOVE_LOCK})")
    bind = op.get_bind()
    if bind.exec_driver_sql("SELECT to_regclass('conversations')").scalar() is None:
        return
    if bind.exec_driver_sql("SELECT EXISTS (SELECT FROM conversations)").scalar():
        return
    op.execute("DROP TABLE conversation_lines")
    op.execute("DROP TABLE conversations")


def downgrade() -> None:
    pass
