"""The hottest PostgreSQL paths through asyncpg itself, on a connection of the engine's
own pool.

SQLAlchemy's async layer costs ~0.2-0.3 ms of CPU per round trip on top of asyncpg's
(measured on the outbox relay: 1.3-1.6 ms per cycle of four round trips, against 0.5 ms
through asyncpg). Statements stay written once, as `text()` with named parameters;
`for_asyncpg` compiles them to asyncpg's numbered ones.
"""

from __future__ import annotations

import contextlib
import time
import weakref
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import ClauseElement
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import Pool
from sqlalchemy.sql.compiler import SQLCompiler

from leadflow.outages import is_outage


@dataclass(frozen=True)
class AsyncpgStatement:
    """A statement in asyncpg's form: SQL with $1.., which parameter each number is, and
    the values of those the statement fixes itself (a Core statement's literals)."""

    sql: str
    names: tuple[str, ...]
    fixed: Mapping[str, Any]

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        return [params[name] if name in params else self.fixed[name] for name in self.names]

    async def execute(self, connection: asyncpg.Connection, params: Mapping[str, Any]) -> None:
        await connection.execute(self.sql, *self.args(params))

    async def fetch(
        self, connection: asyncpg.Connection, params: Mapping[str, Any]
    ) -> list[asyncpg.Record]:
        return await connection.fetch(self.sql, *self.args(params))

    async def fetchrow(
        self, connection: asyncpg.Connection, params: Mapping[str, Any]
    ) -> asyncpg.Record | None:
        return await connection.fetchrow(self.sql, *self.args(params))

    async def fetchval(self, connection: asyncpg.Connection, params: Mapping[str, Any]) -> Any:
        return await connection.fetchval(self.sql, *self.args(params))


def for_asyncpg(statement: ClauseElement) -> AsyncpgStatement:
    """`statement` (text or Core) compiled once for asyncpg (a name used twice is one
    number). Values go to asyncpg as they are: no SQLAlchemy type processing."""
    compiled = statement.compile(dialect=asyncpg_dialect())
    assert isinstance(compiled, SQLCompiler)
    fixed = {
        name: bind.effective_value
        for bind, name in compiled.bind_names.items()
        if not bind.required
    }
    return AsyncpgStatement(str(compiled), tuple(compiled.positiontup or ()), fixed)


# After a connection error, connections are checked with a round trip before they are
# handed out, for this long: the others in the pool likely died of the same cause (a
# database restart), and a dead one must not be handed out again. At other times a
# checkout costs nothing (a ping on every checkout was 11% of a request's CPU).
PING_AFTER_ERROR_S = 10.0
PING_TIMEOUT_S = 2.0
_suspect_until: weakref.WeakKeyDictionary[Pool, float] = weakref.WeakKeyDictionary()


def _suspect(engine: AsyncEngine) -> None:
    _suspect_until[engine.sync_engine.pool] = time.monotonic() + PING_AFTER_ERROR_S


async def _usable(engine: AsyncEngine, raw: asyncpg.Connection) -> bool:
    if raw.is_closed():
        return False
    if time.monotonic() >= _suspect_until.get(engine.sync_engine.pool, 0.0):
        return True
    try:
        await raw.execute("SELECT 1", timeout=PING_TIMEOUT_S)
    except Exception as exc:
        if is_outage(exc):
            return False
        raise
    return True


async def _checkout(engine: AsyncEngine) -> tuple[AsyncConnection, asyncpg.Connection]:
    """A pooled connection that is not known to be dead; dead ones are dropped from the
    pool on the way (each try takes another one, or opens a new one)."""
    pool_size = getattr(engine.sync_engine.pool, "size", lambda: 0)()
    tries = int(pool_size) + 2
    for _ in range(tries):
        connection = await engine.connect()
        try:
            raw = (await connection.get_raw_connection()).driver_connection
            assert isinstance(raw, asyncpg.Connection)
            if await _usable(engine, raw):
                return connection, raw
            _suspect(engine)
            await connection.invalidate()
        except BaseException:
            await connection.close()
            raise
        await connection.close()
    raise asyncpg.exceptions.ConnectionDoesNotExistError(
        f"no live connection among {tries} checked out"
    )


@contextlib.asynccontextmanager
async def asyncpg_connection(engine: AsyncEngine) -> AsyncIterator[asyncpg.Connection]:
    """A raw asyncpg connection of `engine`'s pool (PostgreSQL only), outside any
    transaction: each statement commits on its own.

    A connection that failed with a connection error, or is found closed, is dropped from
    the pool, never handed out again; the error propagates (see `leadflow.outages`).
    """
    connection, raw = await _checkout(engine)
    try:
        yield raw
    except Exception as exc:
        if is_outage(exc) or raw.is_closed():
            _suspect(engine)
            await connection.invalidate()
        raise
    finally:
        if not connection.invalidated and (raw.is_closed() or raw.is_in_transaction()):
            # Closed under us, or left inside a transaction (a BEGIN of the caller's, or a
            # rollback cut short by cancellation): SQLAlchemy does not know of it and would
            # hand the connection out as it is, so the pool drops it instead.
            await connection.invalidate()
        await connection.close()


@contextlib.asynccontextmanager
async def asyncpg_transaction(engine: AsyncEngine) -> AsyncIterator[asyncpg.Connection]:
    """A transaction on a raw asyncpg connection of `engine`'s pool (PostgreSQL only);
    committed when the block ends, rolled back if it raises."""
    async with asyncpg_connection(engine) as raw, raw.transaction():
        yield raw
