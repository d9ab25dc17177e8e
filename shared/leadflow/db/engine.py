"""Async engines: asyncpg for PostgreSQL, aiosqlite for the embedded mode."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Table, event
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession


def is_postgres(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "postgresql"


def insert_or(session: AsyncSession, table: Table) -> pg.Insert | sqlite.Insert:
    """An INSERT with ON CONFLICT clauses, in the session's dialect (both have them)."""
    if session.get_bind().dialect.name == "postgresql":
        return pg.insert(table)
    return sqlite.insert(table)


def create_engine(url: str, *, pool_size: int = 20) -> AsyncEngine:
    """An engine for `url`; SQLite files get their folder, WAL and a busy timeout.

    PostgreSQL connections are kept, never opened per request: handlers beyond
    `pool_size` wait for a free connection (a new asyncpg connection costs more than
    the query), so size the pool to the service's consumer concurrency.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    # No pre-ping: it costs a round trip per checkout (11% of a request's CPU, measured).
    # A connection broken by a database restart fails one unit of work, which the
    # caller retries (events) or reports (503/500); the pool then replaces it.
    return create_async_engine(
        url, pool_size=pool_size, max_overflow=0, pool_timeout=30, pool_recycle=1800
    )


def one_statement_engine(engine: AsyncEngine) -> AsyncEngine | None:
    """On PostgreSQL, `engine`'s pool with every statement its own transaction: for the
    hot writes done as one data-modifying statement (no BEGIN and COMMIT round trips).
    None elsewhere: SQLite has no data-modifying CTEs, so callers take their
    transactional path."""
    if not is_postgres(engine):
        return None
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
