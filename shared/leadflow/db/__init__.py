"""Database helpers: engines, sessions, migrations, the outbox and idempotency records."""

from leadflow.db.engine import create_engine, one_statement_engine, session_factory
from leadflow.db.migrate import run_migrations
from leadflow.db.outbox import (
    OutboxRelay,
    add_to_outbox,
    already_handled,
    create_outbox_tables,
    drop_outbox_tables,
    event_arrays,
    outbox_insert,
    outbox_tables,
    record_handled,
    stage_events,
)
from leadflow.db.raw import (
    AsyncpgStatement,
    asyncpg_connection,
    asyncpg_transaction,
    for_asyncpg,
)
from leadflow.db.store import Migrations, ServiceDatabase
from leadflow.db.types import UtcDateTime

__all__ = [
    "AsyncpgStatement",
    "Migrations",
    "OutboxRelay",
    "ServiceDatabase",
    "UtcDateTime",
    "add_to_outbox",
    "already_handled",
    "asyncpg_connection",
    "asyncpg_transaction",
    "create_engine",
    "create_outbox_tables",
    "drop_outbox_tables",
    "event_arrays",
    "for_asyncpg",
    "one_statement_engine",
    "outbox_insert",
    "outbox_tables",
    "record_handled",
    "run_migrations",
    "session_factory",
    "stage_events",
]
