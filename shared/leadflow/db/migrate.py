"""Run a service's Alembic migrations from code (service start, or the migrate Job).

Each service keeps its own `migrations/` folder and its own version table, so services
sharing one PostgreSQL database never touch each other's history. An advisory lock makes
replicas that start together migrate one at a time.
"""

from __future__ import annotations

import zlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from sqlalchemy import Connection, text
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
