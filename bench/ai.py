"""Classification: what the ai service adds on top of the Groq call itself.

    .venv/bin/python -m bench.ai [--leads 2000] [--rate 100]

An instant Groq stand-in (its own process, bench/instant_groq.py) serves both sides:
- baseline: the raw `groq` client calling it, paced at --rate, then flat out;
- service: the ai service as its own process, `lead.created` published at --rate and
  `lead.classified` consumed, then a burst of --leads for classifications/s.
The overhead is the service's p50/p99 minus the raw call's, beside a bare broker round
trip measured in the same run (the service's latency includes two broker hops).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime

import groq
from leadflow.bus import Delivery, QueueSpec
from leadflow.bus.rabbit import RabbitBus
from leadflow.events import LeadClassified, LeadCreated, LeadSource, LeadStatus, LeadView
from leadflow.testing.processes import running_cluster
from leadflow.testing.services import LOCAL_RABBITMQ

from bench.assignment import paced, percentile
from bench.floors import paced as open_loop
from bench.scratch import scratch


@contextlib.contextmanager
def instant_groq() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "bench.instant_groq", str(port)])
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)):
                break
            if time.monotonic() > deadline:
                raise TimeoutError("bench.instant_groq did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(10)


def summary(latencies: list[float]) -> tuple[float, float]:
    return 1000 * statistics.median(latencies), 1000 * percentile(latencies, 99)


def line(name: str, latencies: list[float], extra: str = "") -> str:
    p50, p99 = summary(latencies)
    return f"{name:<40} p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  {extra}"


async def raw_client(base_url: str, count: int, rate: float) -> tuple[list[float], float]:
    """Paced latencies of the bare client, then calls/s with 32 in flight."""
    client = groq.AsyncGroq(api_key="bench", base_url=base_url, max_retries=0)
    latencies: list[float] = []

    async def call(_: int) -> None:
        started = time.perf_counter()
        await client.chat.completions.create(
            model="fake",
            messages=[{"role": "user", "content": "lead"}],
            response_format={"type": "json_object"},
        )
        latencies.append(time.perf_counter() - started)

    try:
        await open_loop(min(200, count), rate, call)  # warm up, as for the service
        latencies.clear()
        await open_loop(count, rate, call)
        paced_latencies = list(latencies)
        limit = asyncio.Semaphore(32)

        async def bounded(i: int) -> None:
            async with limit:
                await call(i)

        started = time.perf_counter()
        await asyncio.gather(*(bounded(i) for i in range(count)))
        return paced_latencies, count / (time.perf_counter() - started)
    finally:
        await client.close()


def lead_created(i: int) -> LeadCreated:
    now = datetime.now(UTC)
    return LeadCreated(
        lead=LeadView(
            id=f"lead-{i}-{uuid.uuid4().hex[:6]}",
            name=f"Lead {i}",
            phone=f"+5511{i:09d}",
            source=LeadSource.WEBSITE,
            status=LeadStatus.NEW,
            metadata={"income": 9000, "down_payment": 60000},
            version=1,
            created_at=now,
            updated_at=now,
        )
    )


class Roundtrips:
    """Publish one routing key, time until the matching answer is consumed."""

    def __init__(self, bus: RabbitBus, answer_key: str, key_of: Callable[[Delivery], str]):
        self.bus, self.sent, self.latencies = bus, dict[str, float](), list[float]()
        self.expected, self.done = 0, asyncio.Event()
        self.key_of = key_of
        bus.consume(
            QueueSpec(f"bench-{answer_key}", (answer_key,), per_replica=True, prefetch=512),
            self.received,
        )

    async def received(self, delivery: Delivery) -> None:
        key = self.key_of(delivery)
        if key in self.sent:
            self.latencies.append(time.perf_counter() - self.sent.pop(key))
            if len(self.latencies) >= self.expected:
                self.done.set()

    async def run(
        self, count: int, rate: float | None, send: Callable[[int], Awaitable[str]]
    ) -> tuple[list[float], float]:
        self.latencies, self.expected = [], count
        self.done.clear()

        async def one(i: int) -> None:
            started = time.perf_counter()
            key = await send(i)
            self.sent[key] = started

        started = time.perf_counter()
        if rate is None:
            await asyncio.gather(*(one(i) for i in range(count)))
        else:
            await paced(count, rate, one)
        await asyncio.wait_for(self.done.wait(), 300)
        return self.latencies, count / (time.perf_counter() - started)


async def bare_broker(count: int, rate: float) -> list[float]:
    async with scratch(with_database=False) as sandbox:
        bus = RabbitBus(LOCAL_RABBITMQ, namespace=sandbox.namespace)
        trips = Roundtrips(bus, "bench.pong", lambda d: d.body.decode())

        async def pong(delivery: Delivery) -> None:
            await bus.publish("bench.pong", delivery.body)

        bus.consume(QueueSpec("bench-ping", ("bench.ping",), per_replica=True, prefetch=512), pong)
        await bus.start()

        async def send(i: int) -> str:
            await bus.publish("bench.ping", str(i).encode())
            return str(i)

        try:
            latencies, _ = await trips.run(count, rate, send)
            return latencies
        finally:
            await bus.stop()


async def service(base_url: str, count: int, rate: float) -> tuple[list[float], float]:
    async with scratch() as sandbox:
        env = sandbox.env(GROQ_API_KEY="bench", GROQ_BASE_URL=base_url)
        with running_cluster(env, services=("ai",)):
            bus = RabbitBus(LOCAL_RABBITMQ, namespace=sandbox.namespace)

            def classified(delivery: Delivery) -> str:
                event = delivery.event()
                assert isinstance(event, LeadClassified) and event.classified_by == "groq"
                return event.lead_id

            trips = Roundtrips(bus, "lead.classified", classified)
            await bus.start()

            async def send(i: int) -> str:
                event = lead_created(i)
                await bus.publish_event(event)
                return event.lead.id

            try:
                await trips.run(min(200, count), rate, send)  # warm up
                paced_latencies, _ = await trips.run(count, rate, send)
                _, per_second = await trips.run(count, None, send)
                return paced_latencies, per_second
            finally:
                await bus.stop()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=100)
    args = parser.parse_args()
    with instant_groq() as base_url:
        raw, raw_per_s = await raw_client(base_url, args.leads, args.rate)
        hops = await bare_broker(args.leads, args.rate)
        classified, per_s = await service(base_url, args.leads, args.rate)
    raw_p50, raw_p99 = summary(raw)
    p50, p99 = summary(classified)
    hop_p50, hop_p99 = summary(hops)
    print(
        f"\n{args.leads} leads at {args.rate:.0f}/s, then a burst "
        "(Groq stand-in answering at once)\n"
    )
    print(line("raw groq client call", raw, f"flat out {raw_per_s:.0f} calls/s"))
    print(line("bare broker round trip (2 hops)", hops))
    print(line("lead.created -> lead.classified", classified, f"flat out {per_s:.0f}/s"))
    print(
        f"\nservice overhead over the raw call: p50 {p50 - raw_p50:+.2f} ms  "
        f"p99 {p99 - raw_p99:+.2f} ms  (of which broker hops p50 {hop_p50:.2f} / "
        f"p99 {hop_p99:.2f} ms); classifications/s {per_s / raw_per_s:.0%} of raw calls/s"
    )


if __name__ == "__main__":
    asyncio.run(main())
