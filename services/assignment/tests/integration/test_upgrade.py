"""An installation from before the dashboard's per-consultant figures came here upgrades
with its consultants' names and its leads' arrival times."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from assignment.app import SCHEMA
from assignment.testing import assigner_under_test
from leadflow.db import create_engine, run_migrations
from leadflow.db.migrate import alembic_config
from leadflow.settings import normalise_database_url
from sqlalchemy import Connection, text

# The leads service's migrations, as files: assignment does not import another service.
LEADS_MIGRATIONS = Path(__file__).resolve().parents[3] / "leads" / "migrations"
BEFORE_THE_FIGURES = "0003_policies"

STORED = [
    """INSERT INTO consultants (id, name, email, password_hash, role, active,
           created_at, updated_at)
       VALUES ('carla', 'Carla Souza', 'carla@example.com', '-', 'consultant', true,
           now(), now())""",
    """INSERT INTO leads (id, name, phone, source, status, ai_reasons, consultant_id,
           metadata, version, created_at, updated_at)
       VALUES ('old', 'Marina', '+5511955554444', 'website', 'WON', '[]', 'carla', '{}', 3,
           '2026-01-01T12:00:00Z', now()),
              ('new', 'Lia', '+5511955553333', 'website', 'NEW', '[]', 'carla', '{}', 1,
           '2026-06-01T12:00:00Z', now())""",
    """INSERT INTO assignment_consultants (id, role, active, created_at, open_leads)
       VALUES ('carla', 'consultant', true, now(), 1)""",
    """INSERT INTO assignment_lead_states (lead_id, consultant_id, status, version)
       VALUES ('old', 'carla', 'WON', 3), ('new', 'carla', 'NEW', 1)""",
]


async def test_an_installation_upgrades_with_names_and_arrival_times(database_url: str) -> None:
    engine = create_engine(normalise_database_url(database_url))
    config = alembic_config(SCHEMA.folder, SCHEMA.version_table)

    def upgrade_to_before(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, BEFORE_THE_FIGURES)

    try:
        await run_migrations(engine, LEADS_MIGRATIONS, "alembic_version_leads")
        async with engine.begin() as connection:
            await connection.run_sync(upgrade_to_before)
            for statement in STORED:
                await connection.execute(text(statement))
        await SCHEMA.run(engine)
    finally:
        await engine.dispose()

    async with assigner_under_test(database_url) as assigner:
        since = {"actor": {"id": "admin", "role": "admin"}, "since": "2026-03-01T00:00:00Z"}
        [carla] = await assigner.handlers.consultant_figures(since)
    assert (carla["name"], carla["assigned"], carla["open"], carla["won"]) == (
        "Carla Souza",
        1,
        1,
        0,
    )
