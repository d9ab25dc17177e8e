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
from sqlalchemy import TextClause
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncEngine


@dataclass(frozen=True)
class AsyncpgStatement:
    """A statement in asyncpg's form: SQL with $1.., and which parameter each number is."""

    sql: str
    names: tuple[str, ...]

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        return [params[name] for name in self.names]


def for_asyncpg(statement: TextClause) -> AsyncpgStatement:
    """`statement` compiled once for asyncpg (a name used twice is one number)."""
    compiled = statement.compile(dialect=asyncpg_dialect())
    return AsyncpgStatement(str(compiled), tuple(compiled.positiontup or ()))


@contextlib.asynccontextmanager
async def asyncpg_transaction(engine: AsyncEngine) -> AsyncIterator[asyncpg.Connection]:
    """A transaction on a raw asyncpg connection of `engine`'s pool (PostgreSQL only);
    committed when the block ends, rolled back if it raises."""
    async with engine.connect() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        assert isinstance(raw, asyncpg.Connection)
        async with raw.transaction():
            yield raw
