"""Floors: the least one message and one database transaction cost, measured on the same
broker and server as the services, through the same client code, at a benchmark's pace.

- `message_floor(consumers=1)`: a RabbitBus publishes each message as the services do
  (persistent, publisher confirms, to the events exchange); a process of its own consumes
  it from a durable quorum queue (a QueueSpec like the services', dead-letter queue and
  all) and acks. CPU: the publishing process + the consuming process + RabbitMQ's whole
  process, per message. With `consumers=2`, two processes and two queues: each message is
  delivered twice, and the difference with one consumer is what one more delivery costs.
- `transaction_floor`: one INSERT committed on its own, on a pooled connection of
  leadflow.db's engine (`asyncpg_connection` on `one_statement_engine`, the services' hot
  writes). CPU: this process + the backends serving the database, per transaction.

Consumers are processes of their own, as the services are: in one process a confirm and a
delivery arriving together would share a wakeup and read the floor low. RabbitMQ is one
process for every user of the broker, and their load comes and goes: messages go in windows
of a few seconds, each followed by a window at rest as long, and what the broker used at
rest is taken off (`Floor.broker_at_rest` says how much that was).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import multiprocessing
import os
import statistics
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from leadflow.bus import Delivery, QueueSpec
from leadflow.bus.rabbit import RabbitBus
from leadflow.db import asyncpg_connection, create_engine, one_statement_engine
from leadflow.settings import normalise_database_url
from leadflow.testing.services import LOCAL_RABBITMQ, delete_namespace, new_namespace
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.assignment import percentile
from bench.cpu import Window, _pids, backends_of, measured

FLOOR_KEY = "bench.floor"
READY_TIMEOUT_S = 60.0  # a consuming process starting: imports, connection, declarations
WINDOW_S = 5.0  # floors are measured in windows this long (messages: each then a rest)
DRAIN_TIMEOUT_S = 60.0  # the last deliveries after the last publish
STOP_TIMEOUT_S = 10.0  # a consuming process closing its connection
POOL_SIZE = 4


def ms(values: list[float]) -> str:
    if not values:
        return "no samples"
    return (
        f"p50 {1000 * statistics.median(values):7.1f} ms  "
        f"p99 {1000 * percentile(values, 99):7.1f} ms  ({len(values)})"
    )


async def paced(
    count: int, rate: float, send: Callable[[int], Coroutine[object, object, None]]
) -> float:
    """Start `send(i)` at i / rate seconds, whether or not earlier ones finished (an
    open loop: a slow answer does not slow the offered rate); returns how late the last
    one started."""
    started = time.perf_counter()
    tasks: list[asyncio.Task[None]] = []
    lag = 0.0
    for i in range(count):
        delay = started + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        lag = -delay if delay < 0 else 0.0
        tasks.append(asyncio.create_task(send(i)))
    await asyncio.gather(*tasks)
    return lag


@dataclass(frozen=True)
class Floor:
    latencies: list[float]  # seconds, one per operation
    cpu: dict[str, float]  # CPU seconds per operation, by process group
    error: dict[str, float] = field(default_factory=dict)  # standard error of `cpu`
    broker_at_rest: float = 0.0  # RabbitMQ's CPU seconds per second between windows

    @property
    def cpu_ms(self) -> float:
        return 1000 * sum(self.cpu.values())

    @property
    def error_ms(self) -> float:
        return 1000 * math.hypot(*self.error.values())

    def minus(self, other: Floor) -> Floor:
        """The CPU this floor costs beyond `other`'s (no latencies)."""
        return Floor(
            [],
            {name: s - other.cpu.get(name, 0.0) for name, s in self.cpu.items()},
            {name: math.hypot(e, other.error.get(name, 0.0)) for name, e in self.error.items()},
        )

    def describe(self) -> str:
        def plus_minus(error: float) -> str:
            return f" ±{1000 * error:.2f}" if error else ""

        parts = ", ".join(
            f"{name} {1000 * s:.2f}{plus_minus(self.error.get(name, 0.0))}"
            for name, s in self.cpu.items()
        )
        return f"{self.cpu_ms:.2f}{plus_minus(self.error_ms / 1000)} ms of CPU ({parts})"


def per_operation(
    busy: list[Window], sizes: list[int], rest: list[Window] | None = None
) -> tuple[dict[str, float], dict[str, float]]:
    """CPU seconds per operation of each group over windows of `sizes` operations, beyond
    what it used at `rest` if given (each busy window less the rest window after it,
    scaled to its length), and the standard error of that figure from the spread of the
    windows' own."""
    pairs = list(zip(busy, rest or [Window(1.0, {})] * len(busy), sizes, strict=True))

    def net(b: Window, r: Window, name: str) -> float:
        return b.cpu[name] - r.cpu.get(name, 0.0) * b.seconds / r.seconds

    cpu, error = {}, {}
    for name in busy[0].cpu:
        cpu[name] = sum(net(b, r, name) for b, r, _ in pairs) / sum(sizes)
        each = [net(b, r, name) / n for b, r, n in pairs]
        error[name] = statistics.stdev(each) / math.sqrt(len(each)) if len(each) > 1 else 0.0
    return cpu, error


# --- messages ----------------------------------------------------------------------------


def _consume_in_process(
    namespace: str, queue: str, count: int, window: int, pipe: Connection
) -> None:
    """A consuming process: says "ready" once its queue is bound, then consumes `count`
    messages, saying how many it has after each `window` of them, sends back their
    latencies and waits for the word to stop (its teardown is no part of the floor)."""
    asyncio.run(_consume(namespace, queue, count, window, pipe))


async def _consume(namespace: str, queue: str, count: int, window: int, pipe: Connection) -> None:
    latencies: list[float] = []
    done = asyncio.Event()

    async def received(delivery: Delivery) -> None:
        # The body is the publisher's time.monotonic(): CLOCK_MONOTONIC, one clock for
        # every process of the machine.
        latencies.append(time.monotonic() - float(delivery.body))
        if len(latencies) % window == 0 or len(latencies) == count:
            pipe.send(len(latencies))
        if len(latencies) == count:
            done.set()

    bus = RabbitBus(LOCAL_RABBITMQ, namespace=namespace)
    bus.consume(QueueSpec(queue, (FLOOR_KEY,)), received)
    await bus.start()
    try:
        pipe.send("ready")
        await done.wait()  # the parent terminates this process if it never comes
        pipe.send(latencies)
        with contextlib.suppress(EOFError):  # the parent gone: stop as well
            await asyncio.to_thread(pipe.recv)
    finally:
        await bus.stop()


async def _receive(pipe: Connection, timeout: float) -> Any:
    if not await asyncio.to_thread(pipe.poll, timeout):
        raise TimeoutError(f"a consuming process said nothing within {timeout} s")
    return pipe.recv()


async def message_floor(count: int, rate: float, *, consumers: int = 1) -> Floor:
    """`count` messages published at `rate`, each delivered to `consumers` processes;
    latencies from publish to each delivery, CPU per message published.

    RabbitMQ is shared with whoever else uses the broker, and their load comes and goes:
    the messages go in windows of WINDOW_S, each followed by a window at rest as long,
    and what every process used at rest is taken off what it used busy. A first window,
    not measured, warms the connections and queues up."""
    namespace = new_namespace()
    queues = [f"bench-floor-{n}" for n in range(consumers)]
    window = max(1, round(rate * WINDOW_S))
    spawn = multiprocessing.get_context("spawn")
    pipes: list[Connection] = []
    processes: list[multiprocessing.process.BaseProcess] = []
    publisher = RabbitBus(LOCAL_RABBITMQ, namespace=namespace)
    try:
        for queue in queues:
            ours, theirs = spawn.Pipe()
            process = spawn.Process(
                target=_consume_in_process,
                args=(namespace, queue, window + count, window, theirs),
                daemon=True,
            )
            process.start()
            theirs.close()  # theirs alone now: a consumer that dies is an EOF here
            pipes.append(ours)
            processes.append(process)
        for pipe in pipes:
            await _receive(pipe, READY_TIMEOUT_S)
        await publisher.start()
        groups = {
            "publisher": [os.getpid()],
            "consumers": [p.pid for p in processes if p.pid is not None],
            "rabbitmq": _pids("beam.smp"),
        }
        busy: list[Window] = []
        rest: list[Window] = []
        sizes: list[int] = []

        async def send(i: int) -> None:
            await publisher.publish(FLOOR_KEY, repr(time.monotonic()).encode())

        async def window_of(size: int) -> None:
            await paced(size, rate, send)
            for pipe in pipes:  # until every message of the window was delivered
                await _receive(pipe, DRAIN_TIMEOUT_S)

        await window_of(window)
        for first in range(0, count, window):
            sizes.append(min(window, count - first))
            with measured(groups, busy):
                await window_of(sizes[-1])
            with measured(groups, rest):
                await asyncio.sleep(busy[-1].seconds)  # the window measured, not a wait
        latencies = [t for pipe in pipes for t in (await _receive(pipe, DRAIN_TIMEOUT_S))[window:]]
    finally:
        await publisher.stop()
        for pipe in pipes:
            pipe.close()  # the word to stop
        for consumer in processes:
            await asyncio.to_thread(consumer.join, STOP_TIMEOUT_S)
            if consumer.is_alive():
                consumer.terminate()
        await delete_namespace(LOCAL_RABBITMQ, namespace, queues=queues)
    broker_at_rest = sum(r.cpu["rabbitmq"] for r in rest) / sum(r.seconds for r in rest)
    return Floor(latencies, *per_operation(busy, sizes, rest), broker_at_rest)


# --- transactions ------------------------------------------------------------------------


async def transaction_floor(database: str, count: int, rate: float) -> Floor:
    """`count` single-INSERT transactions at `rate` on `database`; latency of each (pool
    checkout included, as the services pay it), CPU per transaction."""
    engine = create_engine(normalise_database_url(database), pool_size=POOL_SIZE)
    autocommit = one_statement_engine(engine)
    latencies: list[float] = []
    try:
        async with asyncpg_connection(autocommit) as connection:
            await connection.execute("CREATE TABLE bench_floor (id text PRIMARY KEY, body jsonb)")
        # Every connection of the pool open before the backends are listed: one opened
        # during the run would go unmeasured.
        await _open_every_connection(autocommit, POOL_SIZE)
        groups = {"client": [os.getpid()], "postgresql": backends_of(database)}
        busy: list[Window] = []
        sizes: list[int] = []
        window = max(1, round(rate * WINDOW_S))

        async def insert(i: int) -> None:
            started = time.perf_counter()
            async with asyncpg_connection(autocommit) as connection:
                await connection.execute(
                    "INSERT INTO bench_floor VALUES ($1, $2)", uuid.uuid4().hex, '{"n": 1}'
                )
            latencies.append(time.perf_counter() - started)

        for first in range(0, count, window):  # in windows, for the spread
            sizes.append(min(window, count - first))
            with measured(groups, busy):
                await paced(sizes[-1], rate, insert)
        async with asyncpg_connection(autocommit) as connection:
            await connection.execute("DROP TABLE bench_floor")
    finally:
        await engine.dispose()
    return Floor(latencies, *per_operation(busy, sizes))


async def _open_every_connection(engine: AsyncEngine, size: int) -> None:
    """`size` connections checked out at once: the pool opens them all."""
    everyone_in = asyncio.Barrier(size)

    async def hold() -> None:
        async with asyncpg_connection(engine):
            await everyone_in.wait()

    await asyncio.gather(*(hold() for _ in range(size)))


# --- together ----------------------------------------------------------------------------

GOAL_MS_PER_LEAD = 15.0  # issue 19: CPU per lead at 20/s, every service its own process


@dataclass(frozen=True)
class Floors:
    message: Floor  # one message published and delivered once
    delivery: Floor  # one more delivery of a message (CPU only)
    transaction: Floor
    broker_at_rest: float  # RabbitMQ's CPU seconds per second, not ours (taken off)

    @classmethod
    async def measure(cls, database: str, count: int, rate: float) -> Floors:
        message = await message_floor(count, rate)
        twice = await message_floor(count, rate, consumers=2)
        transaction = await transaction_floor(database, count, rate)
        at_rest = (message.broker_at_rest + twice.broker_at_rest) / 2
        return cls(message, twice.minus(message), transaction, at_rest)

    def beside(
        self, measured: float, published: float, deliveries: float, transactions: float
    ) -> list[str]:
        """The design's floor per lead beside the CPU `measured` per lead (ms): every
        message and transaction a lead causes at its floor's cost, each delivery beyond a
        message's first at the delivery share (none when noise makes that read negative)."""
        extra = max(0.0, deliveries - published)
        delivery = max(0.0, self.delivery.cpu_ms)
        floor = (
            published * self.message.cpu_ms
            + extra * delivery
            + transactions * self.transaction.cpu_ms
        )
        error = math.hypot(
            published * self.message.error_ms,
            extra * self.delivery.error_ms,
            transactions * self.transaction.error_ms,
        )
        label = "the design's floor per lead"
        lines = [
            f"{label:34} {floor:.1f} ±{error:.1f} ms = {published:.1f} messages x "
            f"{self.message.cpu_ms:.2f} + {extra:.1f} extra deliveries x {delivery:.2f} + "
            f"{transactions:.1f} transactions x {self.transaction.cpu_ms:.2f}"
        ]
        if floor <= 0:
            return [*lines, f"{'measured / floor':34} no ratio: the floor reads <= 0 (noise)"]
        return [
            *lines,
            f"{'measured / floor':34} {measured / floor:.1f}x; the goal, {GOAL_MS_PER_LEAD:.0f} "
            f"ms (issue 19), is {GOAL_MS_PER_LEAD / floor:.1f}x the floor",
        ]

    def lines(self, rate: float) -> list[str]:
        at_rest_ms = 1000 * self.broker_at_rest / rate
        return [
            f"{'bare publish -> consume':34} {ms(self.message.latencies)}  "
            f"{self.message.describe()}",
            f"{'  one more delivery of it':34} {'':37} {self.delivery.describe()}",
            f"{'bare INSERT':34} {ms(self.transaction.latencies)}  {self.transaction.describe()}",
            f"{'RabbitMQ at rest':34} {1000 * self.broker_at_rest:.1f} ms of CPU per s "
            f"between the windows, taken off the floors ({at_rest_ms:.2f} ms per message "
            f"at {rate:.0f}/s; counted in the pipeline's figures)",
        ]
