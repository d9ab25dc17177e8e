"""The hottest PostgreSQL paths through asyncpg itself, on a connection of the engine's
own pool.

SQLAlchemy's async layer costs ~0.2-0.3 ms of CPU per round trip on top of asyncpg's
(measured on the outbox relay: 1.3-1.6 ms per cycle of four round trips, against 0.5 ms
through asyncpg). Statements stay written once, as `text()` with named parameters;
`for_asyncpg` compiles them to asyncpg's numbered ones.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import ClauseElement
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.compiler import SQLCompiler


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


@contextlib.asynccontextmanager
async def asyncpg_connection(engine: AsyncEngine) -> AsyncIterator[asyncpg.Connection]:
    """A raw asyncpg connection of `engine`'s pool (PostgreSQL only), outside any
    transaction: each statement commits on its own."""
    async with engine.connect() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        assert isinstance(raw, asyncpg.Connection)
        try:
            yield raw
        finally:
            if not raw.is_closed() and raw.is_in_transaction():
                # Left inside a transaction (a BEGIN of the caller's, or a rollback cut
                # short by cancellation): SQLAlchemy does not know of it and would hand the
                # connection out as it is, so the pool drops it instead.
                await connection.invalidate()


@contextlib.asynccontextmanager
async def asyncpg_transaction(engine: AsyncEngine) -> AsyncIterator[asyncpg.Connection]:
    """A transaction on a raw asyncpg connection of `engine`'s pool (PostgreSQL only);
    committed when the block ends, rolled back if it raises."""
    async with asyncpg_connection(engine) as raw, raw.transaction():
        yield raw
