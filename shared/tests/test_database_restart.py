"""A PostgreSQL restart (`pg_ctl restart -m fast`) on a server of the test's own.

What a service sees: while the server restarts, its statements fail with errors that
`leadflow.outages` calls an outage (so handlers wait them out and requests answer 503);
once it is back, no dead pooled connection is handed out again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import pytest
from leadflow.bus import Delivery, InMemoryBus, QueueSpec
from leadflow.db import asyncpg_connection, asyncpg_transaction, create_engine
from leadflow.outages import is_outage
from leadflow.settings import normalise_database_url
from leadflow.testing.servers import OwnPostgres, own_postgres, postgres_bin
from sqlalchemy.ext.asyncio import AsyncEngine

pytestmark = pytest.mark.skipif(postgres_bin() is None, reason="no PostgreSQL server installed")


@pytest.fixture(scope="module")
def server() -> Iterator[OwnPostgres]:
    with own_postgres() as running:
        yield running


@pytest.fixture
async def engine(server: OwnPostgres) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(normalise_database_url(server.url), pool_size=4)
    async with asyncpg_connection(engine) as connection:
        await connection.execute("CREATE TABLE IF NOT EXISTS handled (id text PRIMARY KEY)")
        await connection.execute("TRUNCATE handled")
    yield engine
    await engine.dispose()


async def fill_the_pool(engine: AsyncEngine, size: int = 4) -> None:
    """Check out `size` connections at once, so the pool holds that many afterwards."""

    async def hold() -> None:
        async with asyncpg_connection(engine) as connection:
            await connection.execute("SELECT pg_sleep(0.05)")

    await asyncio.gather(*(hold() for _ in range(size)))


async def test_after_a_restart_no_dead_connection_is_handed_out(
    server: OwnPostgres, engine: AsyncEngine
) -> None:
    await fill_the_pool(engine)
    await asyncio.to_thread(server.restart)
    # Every pooled connection died with the server; each checkout must find a live one.
    for _ in range(12):
        async with asyncpg_connection(engine) as connection:
            assert await connection.fetchval("SELECT 1") == 1
    await fill_the_pool(engine)


async def test_every_failure_during_a_restart_is_an_outage(
    server: OwnPostgres, engine: AsyncEngine
) -> None:
    await fill_the_pool(engine)
    failures: list[BaseException] = []
    stop = asyncio.Event()

    async def keep_writing(worker: int) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            try:
                async with asyncpg_transaction(engine) as connection:
                    await connection.execute(
                        "INSERT INTO handled (id) VALUES ($1)", f"{worker}-{n}"
                    )
            except Exception as exc:  # each one is classified below
                failures.append(exc)
            await asyncio.sleep(0.01)

    workers = [asyncio.create_task(keep_writing(i)) for i in range(4)]
    await asyncio.sleep(0.2)
    await asyncio.to_thread(server.restart)
    await asyncio.sleep(0.5)
    stop.set()
    await asyncio.wait_for(asyncio.gather(*workers), 30)
    assert failures, "the restart cut no statement: this test tested nothing"
    assert [f for f in failures if not is_outage(f)] == []


async def test_a_handler_writing_through_a_restart_dead_letters_nothing(
    server: OwnPostgres, engine: AsyncEngine
) -> None:
    bus = InMemoryBus(max_deliveries=2, outage_retry_s=30)
    handled: set[str] = set()
    ids = [f"m{i}" for i in range(300)]
    all_handled = asyncio.Event()

    async def record(delivery: Delivery) -> None:
        async with asyncpg_transaction(engine) as connection:
            await connection.execute(
                "INSERT INTO handled (id) VALUES ($1) ON CONFLICT DO NOTHING",
                delivery.message_id,
            )
        handled.add(str(delivery.message_id))
        if len(handled) == len(ids):
            all_handled.set()

    bus.consume(QueueSpec("writes", bindings=("write.#",), prefetch=8), record)
    await bus.start()
    try:
        for i, message_id in enumerate(ids):
            await bus.publish("write.one", b"{}", message_id=message_id)
            if i == 100:
                restart = asyncio.create_task(asyncio.to_thread(server.restart))
            await asyncio.sleep(0.004)
        await restart
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_handled.wait(), 30)
        assert await bus.dead_letters("writes") == []
        assert handled == set(ids)
        async with asyncpg_connection(engine) as connection:
            assert await connection.fetchval("SELECT count(*) FROM handled") == len(ids)
    finally:
        await bus.stop()
