"""Transactional outbox and idempotent consumers.

A service writes its events into its outbox table in the same transaction as the change;
the relay publishes them (publisher confirms) and marks them sent, so a crash between
commit and publish loses nothing. Consumers record each handled event id in the same
transaction as their effect, so a redelivered event changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from prometheus_client import Gauge
from sqlalchemy import (
    Column,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    func,
    insert,
    select,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from leadflow.bus import Bus
from leadflow.db.raw import asyncpg_transaction
from leadflow.db.types import UtcDateTime
from leadflow.events import Event, utcnow
from leadflow.periodic import Periodic

log = logging.getLogger(__name__)

BACKLOG_GAUGE_INTERVAL_S = 15.0
OUTBOX_PENDING = Gauge(
    "leadflow_outbox_pending", "outbox rows committed but not yet published", ["table"]
)
OUTBOX_OLDEST = Gauge(
    "leadflow_outbox_oldest_pending_seconds",
    "age of the oldest outbox row not yet published (0 when none)",
    ["table"],
)


@dataclass(frozen=True)
class OutboxTables:
    outbox: Table
    handled: Table


def outbox_tables(metadata: MetaData, prefix: str) -> OutboxTables:
    """The outbox and handled-events tables of one service (names prefixed)."""
    outbox = Table(
        f"{prefix}_outbox",
        metadata,
        Column("seq", Integer, primary_key=True, autoincrement=True),
        Column("event_id", String(64), nullable=False, unique=True),
        Column("routing_key", String(128), nullable=False),
        Column("body", LargeBinary, nullable=False),
        Column("correlation_id", String(64)),
        Column("created_at", UtcDateTime(), nullable=False),
        Column("published_at", UtcDateTime(), index=True),
    )
    handled = Table(
        f"{prefix}_handled_events",
        metadata,
        Column("event_id", String(128), primary_key=True),
        Column("handled_at", UtcDateTime(), nullable=False),
    )
    return OutboxTables(outbox, handled)


def create_outbox_tables(prefix: str) -> None:
    """In a migration's `upgrade()`: create the service's outbox and handled-events tables
    exactly as `outbox_tables` defines them (no migration spells them out again)."""
    from alembic import op

    tables = outbox_tables(MetaData(), prefix)
    for table in (tables.outbox, tables.handled):
        table.create(op.get_bind())


def drop_outbox_tables(prefix: str) -> None:
    """In a migration's `downgrade()`: the reverse of `create_outbox_tables`."""
    from alembic import op

    tables = outbox_tables(MetaData(), prefix)
    for table in (tables.handled, tables.outbox):
        op.drop_table(table.name)


# The outbox is written in two ways, both defined here: `add_to_outbox` in an ORM
# transaction, and `stage_events` inside a hand-written statement (a data-modifying
# CTE), for the hot paths done in one round trip.


def outbox_insert(tables: OutboxTables) -> str:
    """The head of an INSERT into the outbox, to be followed by a SELECT of
    (event_id, routing_key, body as bytea, correlation_id, created_at) in publish order."""
    return (
        f"INSERT INTO {tables.outbox.name} "
        "(event_id, routing_key, body, correlation_id, created_at)"
    )


def stage_events(tables: OutboxTables, *, only_if: str | None = None) -> str:
    """SQL that stages the events given as `event_arrays(...)` parameters,
    in their order, stamped `:now`: a statement, or a CTE's body. With `only_if` (a CTE's
    name), nothing is staged unless that CTE returned a row."""
    condition = f"WHERE EXISTS (SELECT FROM {only_if})" if only_if else ""
    return f"""
        {outbox_insert(tables)}
        SELECT event_id, routing_key, convert_to(body, 'UTF8'), correlation_id,
               CAST(:now AS timestamptz)
        FROM unnest(
            CAST(:event_ids AS text[]), CAST(:routing_keys AS text[]),
            CAST(:bodies AS text[]), CAST(:correlation_ids AS text[])
        ) WITH ORDINALITY AS staged(event_id, routing_key, body, correlation_id, n)
        {condition}
        ORDER BY n
    """


def record_handled(
    tables: OutboxTables, rows: str = "VALUES (:event_id, CAST(:now AS timestamptz))"
) -> str:
    """SQL (a CTE's body) that records handled events as `already_handled`
    does, returning the ids recorded now: none for an id handled before. `rows` gives
    (event_id, handled_at) rows; by default the one event `:event_id`, stamped `:now`."""
    return f"""
        INSERT INTO {tables.handled.name} (event_id, handled_at) {rows}
        ON CONFLICT (event_id) DO NOTHING
        RETURNING event_id
    """


def _outbox_columns(event: Event) -> tuple[str, str, str, str | None]:
    """What the outbox keeps of an event: id, routing key, JSON body, correlation id."""
    return event.event_id, event.name, event.model_dump_json(), event.correlation_id


def event_arrays(events: Sequence[Event]) -> dict[str, list[Any]]:
    """The parameters `stage_events` reads: one array per outbox column, in order."""
    columns = [_outbox_columns(event) for event in events]
    return {
        "event_ids": [event_id for event_id, _, _, _ in columns],
        "routing_keys": [routing_key for _, routing_key, _, _ in columns],
        "bodies": [body for _, _, body, _ in columns],
        "correlation_ids": [correlation_id for _, _, _, correlation_id in columns],
    }


async def add_to_outbox(session: AsyncSession, tables: OutboxTables, *events: Event) -> None:
    """Stage events in the caller's transaction; they are published after it commits."""
    if not events:
        return
    now = utcnow()
    # One constant statement with parameters: compiled once, not per event.
    await session.exec(
        insert(tables.outbox),
        params=[
            {
                "event_id": event_id,
                "routing_key": routing_key,
                "body": body.encode(),
                "correlation_id": correlation_id,
                "created_at": now,
            }
            for event_id, routing_key, body, correlation_id in map(_outbox_columns, events)
        ],
    )


async def already_handled(session: AsyncSession, tables: OutboxTables, event_id: str) -> bool:
    """True if `event_id` was handled before; otherwise records it in this transaction.

    One statement: a replica racing on the same id waits on the key until the other
    commits, then finds it handled (or records it, if the other rolled back).
    """
    recorded = await session.exec(
        pg_insert(tables.handled)
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(tables.handled.c.event_id),
        params={"event_id": event_id, "handled_at": utcnow()},
    )
    return recorded.first() is None


class OutboxRelay:
    """Publishes committed outbox rows in order, then marks them published."""

    def __init__(
        self,
        engine: AsyncEngine,
        tables: OutboxTables,
        bus: Bus,
        *,
        poll_interval: float = 0.5,
        batch_size: int = 200,
        keep_published: timedelta = timedelta(days=1),
    ) -> None:
        self.engine = engine
        self.tables = tables
        self.bus = bus
        self.poll_interval = poll_interval
        self.batch_size = batch_size
        self.keep_published = keep_published
        self._next_cleanup = 0.0
        self._loop = Periodic("outbox-relay", poll_interval, self.publish_all)
        self._gauge = Periodic("outbox-backlog", BACKLOG_GAUGE_INTERVAL_S, self.measure_backlog)
        self._backlog = select(func.count(), func.min(tables.outbox.c.created_at)).where(
            tables.outbox.c.published_at.is_(None)
        )
        # The statements of a cycle, built once, run on asyncpg itself (see
        # `leadflow.db.raw`): replicas share the outbox, and each row is published by
        # whoever locked it.
        outbox = tables.outbox.name
        self._pending_sql = f"""
            SELECT seq, event_id, routing_key, body, correlation_id FROM {outbox}
            WHERE published_at IS NULL ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED
        """
        self._mark_sql = f"UPDATE {outbox} SET published_at = $2 WHERE seq = ANY($1::int[])"
        self._prune_sql = f"DELETE FROM {outbox} WHERE published_at < $1"

    def wake(self) -> None:
        """Called after a commit that staged events, so they go out at once."""
        self._loop.wake()

    async def commit(self, session: AsyncSession, *events: Event) -> None:
        """Stage `events` in the outbox, commit them with the session's change, publish soon."""
        await add_to_outbox(session, self.tables, *events)
        await session.commit()
        if events:
            self.wake()

    async def start(self) -> None:
        await self._loop.start()
        await self._gauge.start()

    async def stop(self) -> None:
        await self._gauge.stop()
        await self._loop.stop()

    async def measure_backlog(self) -> None:
        """Rows not yet published and the age of the oldest, for the alert rules."""
        async with self.engine.connect() as connection:
            pending, oldest = (await connection.execute(self._backlog)).one()
        table = self.tables.outbox.name
        OUTBOX_PENDING.labels(table).set(pending)
        age = (utcnow() - oldest).total_seconds() if oldest is not None else 0.0
        OUTBOX_OLDEST.labels(table).set(max(0.0, age))

    async def publish_all(self) -> None:
        """Publish batch after batch until one comes back short: the outbox is empty."""
        published = self.batch_size
        while published == self.batch_size:
            published = await self.publish_pending()

    async def publish_pending(self) -> int:
        """Publish one batch; returns how many rows it published."""
        # Through asyncpg itself: a relay cycle runs for every change of every service.
        async with asyncpg_transaction(self.engine) as connection:
            rows = await connection.fetch(self._pending_sql, self.batch_size)
            await self._publish(rows)
            if rows:
                await connection.execute(self._mark_sql, [row[0] for row in rows], utcnow())
            if self._cleanup_due():
                await connection.execute(self._prune_sql, utcnow() - self.keep_published)
        return len(rows)

    async def _publish(self, rows: Sequence[Sequence[Any]]) -> None:
        """Publish (seq, event_id, routing_key, body, correlation_id) rows, confirmed.

        All of the batch in flight at once, confirms awaited together: one at a time
        capped a service at ~800 events/s, waiting on confirms, not on work. The channel
        still sends them in this order; if any fails, none is marked published and the
        whole batch goes again (consumers drop repeats by id).
        """
        await asyncio.gather(
            *(
                self.bus.publish(
                    routing_key, body, message_id=event_id, correlation_id=correlation_id
                )
                for _, event_id, routing_key, body, correlation_id in rows
            )
        )

    def _cleanup_due(self) -> bool:
        """Published rows are kept a while for inspection; pruned once a minute, not on
        every batch."""
        if time.monotonic() < self._next_cleanup:
            return False
        self._next_cleanup = time.monotonic() + 60
        return True
