"""Run a service's Alembic migrations from code (service start, or the migrate Job).

Each service keeps its own `migrations/` folder and its own version table, so services
sharing one PostgreSQL database never touch each other's history. An advisory lock makes
replicas that start together migrate one at a time.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.runtime.environment import EnvironmentContext
from sqlalchemy import Connection, MetaData, Table, text
from sqlalchemy.ext.asyncio import AsyncEngine


def alembic_config(script_location: Path, version_table: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.attributes["version_table"] = version_table
    return config


async def run_migrations(engine: AsyncEngine, script_location: Path, version_table: str) -> None:
    """Upgrade the service's tables to the newest revision."""
    config = alembic_config(script_location, version_table)

    def upgrade(connection: Connection) -> None:
        lock_id = zlib.crc32(version_table.encode())
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})
        config.attributes["connection"] = connection
        # "heads": each feature may keep its own migration branch off the same base.
        command.upgrade(config, "heads")

    async with engine.begin() as connection:
        await connection.run_sync(upgrade)


def run_env(context: EnvironmentContext) -> None:
    """The body of every service's `migrations/env.py`."""
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        version_table=context.config.attributes["version_table"],
    )
    with context.begin_transaction():
        context.run_migrations()


async def schema_differences(engine: AsyncEngine, tables: Sequence[Table]) -> list[Any]:
    """What the database's copy of `tables` lacks or has beyond their definitions (types
    included), as Alembic's autogenerate sees it: empty when the migrations built them
    exactly as defined."""
    metadata = MetaData()
    for table in tables:
        table.to_metadata(metadata)
    names = {table.name for table in tables}

    def ours(item: Any, name: str | None, kind: str, reflected: bool, compare_to: Any) -> bool:
        table = item if kind == "table" else getattr(item, "table", None)
        return table is not None and table.name in names

    def compare(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(
            connection, opts={"include_object": ours, "compare_type": True}
        )
        return list(compare_metadata(context, metadata))

    async with engine.connect() as connection:
        return await connection.run_sync(compare)
