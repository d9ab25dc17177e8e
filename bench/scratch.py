"""A scratch database and broker namespace for one benchmark run, removed afterwards
whatever happens, so runs never see each other's queues or rows."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

from leadflow.testing.fixtures import service_env
from leadflow.testing.services import (
    LOCAL_POSTGRES,
    LOCAL_RABBITMQ,
    create_database,
    delete_namespace,
    drop_database,
    new_namespace,
)


@dataclass(frozen=True)
class Scratch:
    database: str  # a PostgreSQL URL; "" when the run needs no database
    namespace: str

    def env(self, **extra: str) -> dict[str, str]:
        """The service processes' environment: quiet logs unless `extra` says otherwise."""
        return service_env(LOCAL_RABBITMQ, self.database, self.namespace) | {
            "LOG_LEVEL": "WARNING",
            **extra,
        }


async def _open(with_database: bool) -> Scratch:
    database = await create_database(LOCAL_POSTGRES) if with_database else ""
    return Scratch(database, new_namespace())


async def _close(scratch: Scratch) -> None:
    await delete_namespace(LOCAL_RABBITMQ, scratch.namespace)
    if scratch.database:
        await drop_database(LOCAL_POSTGRES, scratch.database)


@contextlib.asynccontextmanager
async def scratch(*, with_database: bool = True) -> AsyncIterator[Scratch]:
    opened = await _open(with_database)
    try:
        yield opened
    finally:
        await _close(opened)


@contextlib.contextmanager
def scratch_sync(*, with_database: bool = True) -> Iterator[Scratch]:
    """For the benchmarks whose main is not a coroutine (they drive `wrk` or threads)."""
    opened = asyncio.run(_open(with_database))
    try:
        yield opened
    finally:
        asyncio.run(_close(opened))
