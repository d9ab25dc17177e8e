"""The outbox's two writers on real PostgreSQL: what the relay publishes from each."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from leadflow.db import (
    OutboxRelay,
    add_to_outbox,
    create_engine,
    event_arrays,
    outbox_tables,
    session_factory,
    stage_events,
)
from leadflow.events import LeadClassified, Temperature, utcnow
from leadflow.settings import normalise_database_url
from leadflow.testing.recording import RecordingBus
from sqlalchemy import MetaData, text

TABLES = outbox_tables(MetaData(), "probe")


def classified(score: int) -> LeadClassified:
    return LeadClassified(
        lead_id=f"lead-{score}",
        temperature=Temperature.WARM,
        ai_score=score,
        ai_reasons=[f"score {score}"],
        classified_by="rules",
        correlation_id=f"corr-{score}",
    )


@pytest.fixture
async def relay(database_url: str) -> AsyncIterator[OutboxRelay]:
    engine = create_engine(normalise_database_url(database_url))
    async with engine.begin() as connection:
        await connection.run_sync(TABLES.outbox.metadata.create_all)
    bus = RecordingBus()
    await bus.start()
    yield OutboxRelay(engine, TABLES, bus)
    await bus.stop()
    await engine.dispose()


async def test_both_writers_stage_events_the_relay_publishes_alike_and_in_order(
    relay: OutboxRelay,
) -> None:
    events = [classified(score) for score in (10, 20, 30, 40)]
    async with session_factory(relay.engine)() as session:
        await add_to_outbox(session, TABLES, *events[:2])
        await session.commit()
    async with relay.engine.begin() as connection:
        await connection.execute(
            text(stage_events(TABLES)), {"now": utcnow(), **event_arrays(events[2:])}
        )

    await relay.publish_all()

    assert isinstance(relay.bus, RecordingBus)
    assert [
        (d.routing_key, d.message_id, d.correlation_id, d.event()) for d in relay.bus.published
    ] == [(e.name, e.event_id, e.correlation_id, e) for e in events]
    assert await relay.publish_pending() == 0  # each published once


async def test_staging_only_if_a_step_returned_rows(relay: OutboxRelay) -> None:
    first, second = classified(50), classified(60)
    statement = text(
        f"""
        WITH gate AS (SELECT 1 AS one WHERE :open),
        staged AS ({stage_events(TABLES, only_if="gate")})
        SELECT 1
        """
    )
    async with relay.engine.begin() as connection:
        await connection.execute(
            statement, {"open": False, "now": utcnow(), **event_arrays([first])}
        )
        await connection.execute(
            statement, {"open": True, "now": utcnow(), **event_arrays([second])}
        )

    await relay.publish_all()

    assert isinstance(relay.bus, RecordingBus)
    assert [d.event() for d in relay.bus.published] == [second]
