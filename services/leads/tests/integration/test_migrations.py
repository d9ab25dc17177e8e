"""The leads migrations build the outbox tables from their one definition."""

from __future__ import annotations

from leadflow.db.migrate import schema_differences
from leads.models import OUTBOX

from services.leads.tests.support import LeadsUnderTest


async def test_the_migrated_outbox_tables_are_the_ones_leadflow_db_outbox_defines(
    leads: LeadsUnderTest,
) -> None:
    tables = [OUTBOX.outbox, OUTBOX.handled]
    assert await schema_differences(leads.engine, tables) == []
