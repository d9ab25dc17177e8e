"""Test support: a service's own database and outbox, with nothing else running.

The service's relay publishes onto an in-memory bus that keeps every delivery, so a
test reads what the service published without a broker or a consumer in between.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection, event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from leadflow.bus import Bus, Delivery, InMemoryBus
from leadflow.db import (
    OutboxRelay,
    create_engine,
    one_statement_engine,
    run_migrations,
    session_factory,
)
from leadflow.db.outbox import OutboxTables
from leadflow.db.store import ServiceDatabase
from leadflow.events import Event
from leadflow.service import Service
from leadflow.settings import Settings, normalise_database_url


class RecordingBus(InMemoryBus):
    """An in-memory bus that also keeps everything published on it, in order, as it is
    published (no consumer's turn to wait for)."""

    def __init__(self) -> None:
        super().__init__()
        self.published: list[Delivery] = []

    async def send(self, message: Delivery) -> None:
        self.published.append(message)
        await super().send(message)


def delivery(event: Event) -> Delivery:
    """`event` as a consumer receives it from the broker, for calling a handler directly."""
    return Delivery(routing_key=event.name, body=event.model_dump_json().encode())


@contextlib.contextmanager
def statements_run(engine: AsyncEngine) -> Iterator[list[tuple[str, bool]]]:
    """The SQL statements `engine` (and its autocommit variant) sends while the block runs,
    each with whether it committed on its own (no BEGIN / COMMIT round trips)."""
    sent: list[tuple[str, bool]] = []

    def record(connection: Connection, cursor: Any, statement: str, *rest: Any) -> None:
        isolation = connection.get_execution_options().get("isolation_level")
        sent.append((statement, isolation == "AUTOCOMMIT"))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


@dataclass
class StoreUnderTest:
    """A service's migrated database, its sessions and its outbox relay."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    # The service's single-statement engine (see `one_statement_engine`).
    autocommit: AsyncEngine
    relay: OutboxRelay
    bus: RecordingBus

    @property
    def published(self) -> list[Delivery]:
        """Every delivery the relay published so far, in order."""
        return self.bus.published

    async def flush_outbox(self) -> list[Delivery]:
        """Publish what is pending, then return everything published so far."""
        await self.relay.publish_all()
        return self.published


@contextlib.asynccontextmanager
async def store_under_test(
    database_url: str, migrations: Path, version_table: str, outbox: OutboxTables
) -> AsyncIterator[StoreUnderTest]:
    """A service's database on `database_url`, migrated, its relay publishing onto a
    recording bus."""
    engine = create_engine(normalise_database_url(database_url))
    await run_migrations(engine, migrations, version_table)
    sessions = session_factory(engine)
    bus = RecordingBus()
    await bus.start()
    try:
        yield StoreUnderTest(
            engine,
            sessions,
            one_statement_engine(engine),
            OutboxRelay(engine, outbox, bus),
            bus,
        )
    finally:
        await bus.stop()
        await engine.dispose()


class Wired(Protocol):
    """What a service's composition root (`app.wire`) returns, as tests need it."""

    service: Service
    database: ServiceDatabase


W = TypeVar("W", bound=Wired)


@contextlib.asynccontextmanager
async def wired_under_test(
    wire: Callable[[Settings, Bus], W], database_url: str, **settings: Any
) -> AsyncIterator[tuple[W, RecordingBus]]:
    """A service as its composition root wires it, on `database_url` (migrated by its own
    start-up hook), connected to a recording bus; `settings` as Settings' field names.
    Nothing runs on its own (relay, periodic tasks): tests call handlers and flush."""
    bus = RecordingBus()
    settings.setdefault("db_pool_size", 5)
    wired = wire(Settings(_env_file=None, database_url=database_url, **settings), bus)
    try:
        for prepare in wired.service.before_bus:  # the migrations
            await prepare()
        await bus.start()
        yield wired, bus
    finally:
        await bus.stop()
        await wired.database.engine.dispose()
