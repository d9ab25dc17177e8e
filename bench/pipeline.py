"""The whole pipeline at a steady rate: leads POSTed through the gateway, every service its
own process against the local RabbitMQ and PostgreSQL, three consultants with phones (so
each lead also sends a WhatsApp notice).

    .venv/bin/python -m bench.pipeline [--rate 20] [--seconds 30] [--faster 40,80]
                                       [--overload [RATE]] [--overload-seconds 60]

Prints, at `--rate`: POST p50/p99; POST -> `kanban:lead_assigned` at a WebSocket client
p50/p99; CPU per lead of each process group (services, RabbitMQ, PostgreSQL) and in
total, and of each service; per lead, the messages published, the queue deliveries they
caused and the database transactions run. Beside them, floors measured first in the same run
at the same rate (`bench.floors`): latency and CPU of a bare message (publish -> consume)
and of one more delivery of it on the same broker, and of a bare INSERT on the same server;
from them the design's floor per lead (its messages, extra deliveries and transactions at
those costs), the measured CPU's ratio to it, and issue 19's goal beside it.
Then each `--faster` rate for the same time: the highest one at which the system keeps up
(every lead assigned within 5 s of the last POST) is printed. With `--overload`, then issue
19's burst (see `bench.overload`): twice that rate (or the rate given) for
`--overload-seconds` (60), POST p50/p99 during it, whether the WebSocket client got every
frame, and how fast the backlog drained compared with the steady rate.

RabbitMQ's CPU is its whole process's (other users of the broker count too: run it on a
quiet machine; the floors take off what it uses at rest, the pipeline's figure cannot);
PostgreSQL's is that of the backends of the benchmark's own database.
"""

from __future__ import annotations

import argparse
import asyncio
import re
from dataclasses import dataclass, field

import asyncpg
import httpx
from leadflow.testing.fixtures import TEST_ADMIN
from leadflow.testing.processes import Cluster, running_cluster
from leadflow.testing.services import plain_postgres_url

from bench.cpu import SERVICE_PREFIX, cpu_seconds_of, process_groups
from bench.floors import Floors, ms
from bench.load import Pipeline, Run
from bench.overload import overload_phase
from bench.scratch import scratch

# --- the pipeline ------------------------------------------------------------------------


@dataclass
class Counters:
    """Cumulative counts read from every service's /metrics and from PostgreSQL."""

    published: dict[str, float] = field(default_factory=dict)  # by kind
    handled: float = 0
    transactions: int = 0
    cpu: dict[str, float] = field(default_factory=dict)

    def minus(self, before: Counters) -> Counters:
        return Counters(
            {k: v - before.published.get(k, 0.0) for k, v in self.published.items()},
            self.handled - before.handled,
            self.transactions - before.transactions,
            {name: self.cpu[name] - before.cpu.get(name, 0.0) for name in self.cpu},
        )

    @property
    def deliveries(self) -> float:
        """Consumer deliveries, plus each RPC request (to its server) and reply (to its
        caller): the broker delivers each of those once."""
        return self.handled + self.published.get("request", 0) + self.published.get("reply", 0)


_PUBLISHED = re.compile(r'^leadflow_messages_published_total\{kind="(\w+)"\} ([0-9.e+]+)$')
_HANDLED = re.compile(r"^leadflow_messages_handled_total\{[^}]*\} ([0-9.e+]+)$")


async def read_counters(
    client: httpx.AsyncClient, cluster: Cluster, database: str, cpu_of: dict[str, list[int]]
) -> Counters:
    counters = Counters()
    for replicas in cluster.processes.values():
        for running in replicas:
            text = (await client.get(f"{running.url}/metrics")).text
            for line in text.splitlines():
                if published := _PUBLISHED.match(line):
                    kind = published[1]
                    counters.published[kind] = counters.published.get(kind, 0) + float(published[2])
                elif handled := _HANDLED.match(line):
                    counters.handled += float(handled[1])
    name = database.rsplit("/", 1)[1]
    connection = await asyncpg.connect(plain_postgres_url(database))
    try:
        counters.transactions = await connection.fetchval(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = $1", name
        )
    finally:
        await connection.close()
    counters.cpu = cpu_seconds_of(cpu_of)
    return counters


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--faster", default="40,80", help="rates tried after --rate")
    parser.add_argument(
        "--overload",
        nargs="?",
        const="auto",
        help="then a burst at this rate (without one: twice the highest steady rate kept up)",
    )
    parser.add_argument("--overload-seconds", type=float, default=60)
    args = parser.parse_args()
    count = int(args.rate * args.seconds)

    lines: list[str] = []
    async with scratch() as sandbox:
        floors = await Floors.measure(sandbox.database, count, args.rate)
        with running_cluster(sandbox.env(), ready_timeout=600) as cluster:
            # Set-up and /metrics only: the leads go through `Pipeline`'s lean client.
            async with httpx.AsyncClient(base_url=cluster.gateway, timeout=30) as client:
                login = await client.post(
                    "/api/auth/login", json={"email": TEST_ADMIN[0], "password": TEST_ADMIN[1]}
                )
                token = login.raise_for_status().json()["access_token"]
                for i in range(3):
                    created = await client.post(
                        "/api/consultants",
                        json={
                            "name": f"Consultant {i}",
                            "email": f"c{i}@bench.example",
                            "password": "bench-password-1",
                            "phone": f"+551198888000{i}",
                        },
                        headers={"Authorization": f"Bearer {token}"},
                    )
                    created.raise_for_status()
                pipeline = Pipeline(cluster, token)
                await pipeline.open_socket()
                try:
                    warm = await pipeline.post_leads(10, 5, "000")  # caches, pools, consumers
                    if warm.missing:
                        print(f"warm-up: {warm.missing} of 10 leads not assigned within 5 s")
                    groups = process_groups(cluster, sandbox.database)
                    before = await read_counters(client, cluster, sandbox.database, groups)
                    run = await pipeline.post_leads(count, args.rate, "001")
                    await asyncio.sleep(2)  # PostgreSQL's statistics are flushed each second
                    after = await read_counters(client, cluster, sandbox.database, groups)
                    used = after.minus(before)
                    lines += report(run, used, max(1, len(run.posts)), floors)
                    faster = [float(r) for r in args.faster.split(",") if r]
                    best = args.rate if run.kept_up else None
                    for n, rate in enumerate(faster, start=2):
                        tried = await pipeline.post_leads(
                            int(rate * args.seconds), rate, f"{n:03d}"
                        )
                        verdict = "kept up" if tried.kept_up else "fell behind"
                        lines.append(
                            f"{rate:5.0f}/s: {verdict}; POST {ms(tried.posts)}; "
                            f"assigned {ms(tried.assigned)}; backlog at the end "
                            f"{tried.backlog_at_end}, missing 5 s later {tried.missing} "
                            f"({tried.failed} POSTs failed)"
                        )
                        if not tried.kept_up:
                            break
                        best = rate
                    lines.append(f"highest steady rate kept up: {best or 0:.0f} leads/s")
                    if args.overload:
                        lines += await overload_phase(
                            pipeline, groups, args.overload, args.overload_seconds, best or 0
                        )
                finally:
                    await pipeline.close()
    print(f"\n{args.rate:.0f} leads/s for {args.seconds:.0f} s, every service its own process\n")
    print("\n".join(floors.lines(args.rate)))
    print("\n".join(lines))


def report(run: Run, used: Counters, count: int, floors: Floors) -> list[str]:
    """`count`: the leads created (POSTs answered 201), what the costs are divided by."""
    per_process = {name: 1000 * seconds / count for name, seconds in used.cpu.items()}
    per_service = {
        name.removeprefix(SERVICE_PREFIX): value
        for name, value in per_process.items()
        if name.startswith(SERVICE_PREFIX)
    }
    per_lead = {"services": sum(per_service.values())} | {
        name: value for name, value in per_process.items() if not name.startswith(SERVICE_PREFIX)
    }
    cpu = ", ".join(f"{name} {value:.1f}" for name, value in per_lead.items())
    services = ", ".join(f"{name} {value:.1f}" for name, value in sorted(per_service.items()))
    published = ", ".join(f"{k} {v / count:.1f}" for k, v in sorted(used.published.items()))
    messages = sum(used.published.values()) / count
    deliveries = used.deliveries / count
    transactions = used.transactions / count
    measured = sum(per_lead.values())
    return [
        f"{'POST /api/leads':34} {ms(run.posts)}"
        + (f"  ({run.failed} failed or timed out)" if run.failed else ""),
        f"{'POST -> kanban:lead_assigned':34} {ms(run.assigned)}"
        + (f"  ({run.missing} never assigned)" if run.missing else ""),
        f"{'CPU per lead':34} {measured:.1f} ms ({cpu})",
        f"{'  of which services':34} {services}",
        f"{'per lead':34} {messages:.1f} messages published ({published}), "
        f"{deliveries:.1f} queue deliveries, {transactions:.1f} database transactions",
        *floors.beside(measured, messages, deliveries, transactions),
    ]


if __name__ == "__main__":
    asyncio.run(main())
