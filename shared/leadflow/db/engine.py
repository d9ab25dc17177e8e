"""Async engines on PostgreSQL (asyncpg), in every mode."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession


def create_engine(url: str, *, pool_size: int = 20) -> AsyncEngine:
    """An engine for the PostgreSQL database at `url`.

    Connections are kept, never opened per request: handlers beyond `pool_size` wait for
    a free connection (a new asyncpg connection costs more than the query), so size the
    pool to the service's consumer concurrency.
    """
    # No pre-ping: it costs a round trip per checkout (11% of a request's CPU, measured).
    # A connection broken by a database restart fails one unit of work, which the
    # caller retries (events) or reports (503/500); the pool then replaces it.
    return create_async_engine(
        url, pool_size=pool_size, max_overflow=0, pool_timeout=30, pool_recycle=1800
    )


def one_statement_engine(engine: AsyncEngine) -> AsyncEngine:
    """`engine`'s pool with every statement its own transaction: for the hot writes done
    as one data-modifying statement (no BEGIN and COMMIT round trips)."""
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
