"""The assignment migrations build the outbox tables from their one definition."""

from __future__ import annotations

from assignment.models import OUTBOX
from assignment.testing import Assigner
from leadflow.db.migrate import schema_differences


async def test_the_migrated_outbox_tables_are_the_ones_leadflow_db_outbox_defines(
    assigner: Assigner,
) -> None:
    tables = [OUTBOX.outbox, OUTBOX.handled]
    assert await schema_differences(assigner.store.engine, tables) == []
