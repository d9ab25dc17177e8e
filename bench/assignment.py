"""Assignment latency at a sustained rate, with 1 and 3 assignment replicas.

    .venv/bin/python -m bench.assignment [--rate 500] [--seconds 6]

Two measurements, each on a fresh database and broker namespace, every service its own
process, beside a bare publish -> consume round trip on the same broker in the same run:
- `lead.assignment_requested` published -> `assignment.decided` consumed: the assignment
  service alone;
- `lead.classified` published -> `lead.assigned` consumed: the issue's measure, through
  the leads service (which applies the classification and asks for a consultant) and
  back (which records the decision and announces it).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, datetime

import asyncpg
from leadflow.bus import Delivery, QueueSpec
from leadflow.bus.rabbit import RabbitBus
from leadflow.bus.topology import LEADS_RPC
from leadflow.events import (
    AssignmentDecided,
    ConsultantSaved,
    LeadAssigned,
    LeadAssignmentRequested,
    LeadClassified,
    Temperature,
)
from leadflow.rpc import RpcClient
from leadflow.testing.factories import a_consultant
from leadflow.testing.processes import running_cluster
from leadflow.testing.services import LOCAL_RABBITMQ, plain_postgres_url

from bench.cpu import cpu_per_item, cpu_report
from bench.scratch import scratch


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def paced(count: int, rate: float, send: object) -> None:
    assert callable(send)
    started = time.perf_counter()
    for i in range(count):
        delay = started + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await send(i)


async def measure(
    bus: RabbitBus, key: str, count: int, rate: float, make: object, lead_of: object
) -> list[float]:
    assert callable(make) and callable(lead_of)
    sent: dict[str, float] = {}
    latencies: list[float] = []
    done = asyncio.Event()

    async def received(delivery: Delivery) -> None:
        lead_id = lead_of(delivery)
        if lead_id in sent:
            latencies.append(time.perf_counter() - sent.pop(lead_id))
            if len(latencies) == count:
                done.set()

    bus.consume(QueueSpec(f"bench-{key}", (key,), per_replica=True, prefetch=256), received)
    await bus.start()

    async def send(i: int) -> None:
        routing_key, body, lead_id = make(i)
        sent[lead_id] = time.perf_counter()
        await bus.publish(routing_key, body)

    await paced(count, rate, send)
    await asyncio.wait_for(done.wait(), 120)
    return latencies


def report(name: str, latencies: list[float]) -> str:
    return (
        f"{name:<34} p50 {1000 * statistics.median(latencies):6.1f} ms  "
        f"p99 {1000 * percentile(latencies, 99):6.1f} ms  ({len(latencies)} messages)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--seconds", type=float, default=6)
    args = parser.parse_args()
    count = int(args.rate * args.seconds)
    lines = []
    async with scratch(with_database=False) as sandbox:
        bare = RabbitBus(LOCAL_RABBITMQ, namespace=sandbox.namespace)
        try:
            latencies = await measure(
                bare,
                "bench.ping",
                count,
                args.rate,
                lambda i: ("bench.ping", str(i).encode(), str(i)),
                lambda d: d.body.decode(),
            )
            lines.append(report("bare publish -> consume", latencies))
        finally:
            await bare.stop()

    for replicas in (1, 3):
        lines.append(await requested_to_decided(replicas, count, args.rate))
    for replicas in (1, 3):
        lines.append(await classified_to_assigned(replicas, count, args.rate))
    print(f"\n{args.rate:.0f} messages/s for {args.seconds:.0f} s\n")
    print("\n".join(lines))


async def requested_to_decided(replicas: int, count: int, rate: float) -> str:
    """`lead.assignment_requested` -> `assignment.decided`, the assignment service alone."""
    async with scratch() as sandbox:
        with running_cluster(sandbox.env(), services=("assignment",) * replicas):
            seeder = RabbitBus(LOCAL_RABBITMQ, namespace=sandbox.namespace)
            await seeder.start()
            now = datetime.now(UTC)
            for i in range(3):
                await seeder.publish_event(
                    ConsultantSaved(
                        consultant=a_consultant(f"c{i}", created_at=now, updated_at=now)
                    )
                )
            await seeder.stop()
            await wait_for_rows(sandbox.database, ACTIVE_CONSULTANTS, 3)
            bus = RabbitBus(LOCAL_RABBITMQ, namespace=sandbox.namespace)

            def request(i: int) -> tuple[str, bytes, str]:
                event = LeadAssignmentRequested(
                    lead_id=f"lead-{i}",
                    temperature=Temperature.WARM,
                    lead_created_at=datetime.now(UTC),
                )
                return event.name, event.model_dump_json().encode(), event.lead_id

            def decided_lead(delivery: Delivery) -> str:
                event = delivery.event()
                assert isinstance(event, AssignmentDecided)
                return event.lead_id

            try:
                latencies = await measure(
                    bus, "assignment.decided", count, rate, request, decided_lead
                )
            finally:
                await bus.stop()
            return report(f"requested -> decided, {replicas} replica(s)", latencies)


ADMIN = {"id": "bench-admin", "role": "admin"}
ACTIVE_CONSULTANTS = "SELECT count(*) FROM assignment_consultants WHERE active"


async def wait_for_rows(database: str, query: str, expected: int, timeout: float = 120) -> None:
    """Until `query` counts `expected` rows: the services have caught up with the setup."""
    connection = await asyncpg.connect(plain_postgres_url(database))
    deadline = time.perf_counter() + timeout
    try:
        while (found := await connection.fetchval(query)) < expected:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"{query}: {found} of {expected}")
            await asyncio.sleep(0.1)
    finally:
        await connection.close()


async def classified_to_assigned(replicas: int, count: int, rate: float) -> str:
    """`lead.classified` -> `lead.assigned`, with leads and `replicas` assignment replicas."""
    async with scratch() as sandbox:
        services = ("leads",) + ("assignment",) * replicas
        with running_cluster(sandbox.env(), services=services) as cluster:
            setup = RabbitBus(LOCAL_RABBITMQ, namespace=sandbox.namespace)
            await setup.start()
            leads = RpcClient(setup, LEADS_RPC, timeout=30)
            for i in range(3):
                await leads.call(
                    "create_consultant",
                    actor=ADMIN,
                    data={"name": f"C{i}", "email": f"c{i}@x.com", "password": "bench-pass-123"},
                )
            limit = asyncio.Semaphore(32)

            async def new_lead(i: int) -> str:
                async with limit:
                    created = await leads.call(
                        "create_lead",
                        actor=ADMIN,
                        data={"name": f"Lead {i}", "phone": f"+55219{i:08d}"},
                    )
                    return str(created["lead"]["id"])

            lead_ids = await asyncio.gather(*(new_lead(i) for i in range(count)))
            await setup.stop()
            # Every assignment replica's copy of the consultants, and of the new leads.
            await wait_for_rows(sandbox.database, ACTIVE_CONSULTANTS, 3)
            await wait_for_rows(
                sandbox.database, "SELECT count(*) FROM assignment_lead_states", count
            )
            bus = RabbitBus(LOCAL_RABBITMQ, namespace=sandbox.namespace)

            def classified(i: int) -> tuple[str, bytes, str]:
                event = LeadClassified(
                    lead_id=lead_ids[i],
                    temperature=Temperature.WARM,
                    ai_score=55,
                    ai_reasons=["bench (+55)"],
                    classified_by="rules",
                )
                return event.name, event.model_dump_json().encode(), event.lead_id

            def assigned_lead(delivery: Delivery) -> str:
                event = delivery.event()
                assert isinstance(event, LeadAssigned)
                return event.lead.id

            split: dict[str, float] = {}
            try:
                with cpu_per_item(cluster, split):
                    latencies = await measure(
                        bus, "lead.assigned", count, rate, classified, assigned_lead
                    )
            finally:
                await bus.stop()
            return "\n".join(
                [
                    report(f"classified -> assigned, {replicas} repl.", latencies),
                    cpu_report(split, count),
                ]
            )


if __name__ == "__main__":
    asyncio.run(main())
