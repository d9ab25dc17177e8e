"""A service's own database as its composition root wires it: the engine, the migrations
run on start (or by the migrate Job), the outbox relay, and the hooks that start and stop
them in the right order around the service's own."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from sqlalchemy.ext.asyncio import AsyncEngine

from leadflow.db.migrate import run_migrations
from leadflow.db.outbox import OutboxRelay, OutboxTables

if TYPE_CHECKING:
    from leadflow.bus import Bus
    from leadflow.service import Hook
    from leadflow.settings import Settings


class ServiceHooks(TypedDict):
    """The lifecycle hooks of a `Service` (and of `session_service`), by their names."""

    before_bus: list[Hook]
    after_bus: list[Hook]
    before_stop: list[Hook]
    on_stop: list[Hook]


@dataclass(frozen=True)
class Migrations:
    """A service's Alembic folder and its own version table."""

    folder: Path
    version_table: str

    async def run(self, engine: AsyncEngine) -> None:
        await run_migrations(engine, self.folder, self.version_table)

    async def run_for(self, settings: Settings, service: str) -> None:
        """The migrate Job: upgrade the service's tables on their own engine."""
        engine = settings.engine_for(service)
        try:
            await self.run(engine)
        finally:
            await engine.dispose()


@dataclass
class ServiceDatabase:
    engine: AsyncEngine
    relay: OutboxRelay
    migrations: Migrations
    migrate_on_start: bool

    @classmethod
    def of(
        cls,
        settings: Settings,
        service: str,
        migrations: Migrations,
        outbox: OutboxTables,
        bus: Bus,
    ) -> ServiceDatabase:
        engine = settings.engine_for(service)
        return cls(engine, OutboxRelay(engine, outbox, bus), migrations, settings.migrate_on_start)

    async def ready(self) -> bool:
        """The readiness check: a round trip to the database."""
        async with self.engine.connect() as connection:
            await connection.exec_driver_sql("SELECT 1")
        return True

    async def prepare(self) -> None:
        if self.migrate_on_start:
            await self.migrations.run(self.engine)

    def hooks(
        self,
        *,
        before_bus: list[Hook] | None = None,
        after_bus: list[Hook] | None = None,
        before_stop: list[Hook] | None = None,
    ) -> ServiceHooks:
        """A `Service`'s hooks: migrate before the bus (and before the service's own
        `before_bus`, which may read its tables), relay on after it (before the service's
        own `after_bus`), relay off after the service's own `before_stop`, engine closed
        last."""
        return {
            "before_bus": [self.prepare, *(before_bus or [])],
            "after_bus": [self.relay.start, *(after_bus or [])],
            "before_stop": [*(before_stop or []), self.relay.stop],
            "on_stop": [self.engine.dispose],
        }
