"""A scratch database and broker namespace for one benchmark run, removed afterwards
whatever happens, so runs never see each other's queues or rows."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

from leadflow.testing.fixtures import isolated_env, service_env
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


@contextlib.asynccontextmanager
async def scratch(*, with_database: bool = True) -> AsyncIterator[Scratch]:
    opened = Scratch(
        await create_database(LOCAL_POSTGRES) if with_database else "", new_namespace()
    )
    try:
        yield opened
    finally:
        await delete_namespace(LOCAL_RABBITMQ, opened.namespace)
        if opened.database:
            await drop_database(LOCAL_POSTGRES, opened.database)


@contextlib.contextmanager
def scratch_sync() -> Iterator[Scratch]:
    """For the benchmarks whose main is not a coroutine (they drive `wrk` or threads):
    the tests' own isolated environment."""
    with isolated_env(LOCAL_RABBITMQ, LOCAL_POSTGRES) as env:
        yield Scratch(env["DATABASE_URL"], env["BROKER_NAMESPACE"])
