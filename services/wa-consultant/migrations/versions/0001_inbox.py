"""the consultants' inbox, its lead and consultant projections, outbox; carries the
consultant session's rows over from the leads service's `messages` table
"""
import sqlalchemy as sa
from alembic import op
from leadflow.db.columns import TS, id_key

revision = "0001_inbox"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "inbox_messages",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("chat_jid", sa.String(64), nullable=False),
        sa.Column("phone", sa.String(20), nullable=False),
        sa.Column("lead_id", sa.String(32)),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("sender", sa.String(64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("media_type", sa.String(16)),
        sa.Column("wa_message_id", sa.String(128), unique=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("read", sa.Boolean(), nullable=False),
        sa.Column("notice", sa.Boolean(), nullable=False),
        sa.Column("sent_at", TS, nullable=False),
    )
    op.create_index("ix_inbox_messages_chat", "inbox_messages", ["chat_jid", "sent_at"])
    op.create_table(
        "inbox_chats",
        sa.Column("jid", sa.String(64), primary_key=True),
        sa.Column("phone", sa.String(20), nullable=False),
        sa.Column("push_name", sa.String(255)),
        sa.Column("last_message", sa.Text(), nullable=False),
        sa.Column("last_at", TS, nullable=False),
        sa.Column("unread_count", sa.Integer(), nullable=False),
    )
    op.create_index("ix_inbox_chats_last_at", "inbox_chats", ["last_at"])
    op.create_table(
        "inbox_leads",
        id_key(),
        sa.Column("phone", sa.String(20), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("consultant_id", sa.String(32)),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index("ix_inbox_leads_phone", "inbox_leads", ["phone"])
    op.create_table(
        "inbox_consultant_phones",
        id_key("consultant_id"),
        sa.Column("phone", sa.String(20), nullable=False),
    )
    op.create_index("ix_inbox_consultant_phones_phone", "inbox_consultant_phones", ["phone"])
    op.create_table(
        "wa_consultant_outbox",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(64), nullable=False, unique=True),
        sa.Column("routing_key", sa.String(128), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("correlation_id", sa.String(64)),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("published_at", TS, index=True),
    )
    op.create_table(
        "wa_consultant_handled_events",
        sa.Column("event_id", sa.String(128), primary_key=True),
        sa.Column("handled_at", TS, nullable=False),
    )
    carry_over_from_leads()


def carry_over_from_leads() -> None:
    """An installation upgrading from the leads service's inbox: its consultant-session
    messages, and the leads and consultant phones they are seen through, come along.
    A message to or from a consultant's own phone was a notice: it stays one."""
    bind = op.get_bind()
    existing = set(sa.inspect(bind).get_table_names())
    if {"leads", "consultants"} <= existing:
        op.execute(
            "INSERT INTO inbox_leads (id, phone, name, consultant_id, version) "
            "SELECT id, phone, name, consultant_id, version FROM leads"
        )
        op.execute(
            "INSERT INTO inbox_consultant_phones (consultant_id, phone) "
            "SELECT id, '+' || regexp_replace(phone, '[^0-9]', '', 'g') FROM consultants "
            "WHERE phone IS NOT NULL AND regexp_replace(phone, '[^0-9]', '', 'g') <> ''"
        )
    if "messages" not in existing:
        return
    op.execute(
        """
        INSERT INTO inbox_messages (id, chat_jid, phone, lead_id, direction, sender, text,
            media_type, wa_message_id, status, reason, read, notice, sent_at)
        SELECT m.id, m.chat_jid, m.phone, m.lead_id, m.direction, m.sender, m.text,
            m.media_type, m.wa_message_id, m.status, m.reason, m.read,
            EXISTS (SELECT FROM inbox_consultant_phones p WHERE p.phone = m.phone),
            m.sent_at
        FROM messages m WHERE m.session = 'consultant'
        ON CONFLICT DO NOTHING
        """
    )
    op.execute(
        """
        INSERT INTO inbox_chats (jid, phone, push_name, last_message, last_at, unread_count)
        SELECT DISTINCT ON (m.chat_jid) m.chat_jid, m.phone,
            (SELECT i.sender FROM inbox_messages i
             WHERE i.chat_jid = m.chat_jid AND i.direction = 'in' AND NOT i.notice
             ORDER BY i.sent_at DESC LIMIT 1),
            m.text, m.sent_at,
            (SELECT count(*) FROM inbox_messages u
             WHERE u.chat_jid = m.chat_jid AND u.direction = 'in' AND NOT u.read
               AND NOT u.notice)
        FROM inbox_messages m WHERE NOT m.notice
        ORDER BY m.chat_jid, m.sent_at DESC, m.id DESC
        """
    )


def downgrade() -> None:
    for table in (
        "wa_consultant_handled_events",
        "wa_consultant_outbox",
        "inbox_consultant_phones",
        "inbox_leads",
        "inbox_chats",
        "inbox_messages",
    ):
        op.drop_table(table)
