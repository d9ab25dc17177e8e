"""Realtime fanout: N connected clients on one replica, beside a bare websockets broadcast.

    .venv/bin/python -m bench.realtime [--clients 1000 5000 10000] [--events 20]

For each N: connect N WebSocket clients (in this process) to one realtime replica,
publish events through RabbitMQ at a steady rate, and measure publish-to-receipt latency
at every client and deliveries per second; then the same payload broadcast by a bare
`websockets` server to N clients. Memory per idle connection is the replica's RSS growth
divided by N. Loopback only; bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from leadflow.auth import issue_access_token
from leadflow.bus.rabbit import RabbitBus
from leadflow.events import LeadCreated, LeadSource, LeadStatus, LeadView, Role
from leadflow.testing.fixtures import TEST_JWT_SECRET
from leadflow.testing.processes import Cluster, running_cluster
from leadflow.testing.services import LOCAL_RABBITMQ
from websockets.asyncio.client import ClientConnection, connect

from bench.assignment import percentile
from bench.scratch import scratch


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def connect_all(url: str, n: int) -> list[ClientConnection]:
    sockets: list[ClientConnection] = []
    for start in range(0, n, 200):
        batch = await asyncio.gather(
            *(
                connect(url, compression=None, max_queue=None, open_timeout=60)
                for _ in range(min(200, n - start))
            )
        )
        sockets.extend(batch)
    return sockets


WARM_UP = 2  # events not counted: the first ones pay for lazy imports and first writes


async def collect(
    socket: ClientConnection, expect: int, latencies: list[float], stamp: str
) -> None:
    got = 0
    while got < expect:
        frame = json.loads(await socket.recv())
        sent = (
            frame.get("data", {}).get("metadata", {}).get(stamp)
            if isinstance(frame.get("data"), dict)
            else None
        )
        if sent is None:
            continue
        if got >= WARM_UP:
            latencies.append(time.time() - sent)
        got += 1


def lead_event(i: int) -> LeadCreated:
    now = datetime.now(UTC)
    lead = LeadView(
        id=f"bench-{i}",
        name="Bench",
        phone=f"+5511900{i:06d}",
        source=LeadSource.WEBSITE,
        status=LeadStatus.NEW,
        version=1,
        created_at=now,
        updated_at=now,
        metadata={"sent_at": time.time()},
    )
    return LeadCreated(lead=lead)


async def connect_idle(url: str, n: int, server_pid: int) -> tuple[list[ClientConnection], float]:
    """`n` clients connected to `url`, and the server's memory growth per connection."""
    before = rss_kib(server_pid)
    sockets = await connect_all(url, n)
    await asyncio.sleep(1.0)  # let the server settle before reading its memory
    return sockets, (rss_kib(server_pid) - before) / n


async def fan_out(
    sockets: list[ClientConnection],
    events: int,
    rate: float,
    send: Callable[[int], Awaitable[None]],
    per_connection: float,
) -> dict[str, float]:
    """`send(i)` the warm-up and then `events` events at `rate`/s; every client's latency
    from the stamp in each event to its receipt. Closes `sockets`."""
    latencies: list[float] = []
    collectors = [
        asyncio.create_task(collect(s, WARM_UP + events, latencies, "sent_at")) for s in sockets
    ]
    started = time.time()
    for i in range(WARM_UP + events):
        await send(i)
        await asyncio.sleep(1 / rate)
    await asyncio.wait_for(asyncio.gather(*collectors), 120)
    elapsed = time.time() - started
    for socket in sockets:
        await socket.close()
    return {
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * percentile(latencies, 99),
        "deliveries_per_s": len(latencies) / elapsed,
        "kib_per_connection": per_connection,
    }


async def measure_leadflow(n: int, events: int, rate: float) -> dict[str, float]:
    # The replica refuses clients until it has loaded the revoked sessions from leads.
    async with scratch() as sandbox:
        with running_cluster(sandbox.env(), services=("leads", "realtime")) as cluster:
            replica = cluster.processes["realtime"][0]
            bus = RabbitBus(LOCAL_RABBITMQ, namespace=sandbox.namespace)
            await bus.start()
            try:
                token = issue_access_token(
                    TEST_JWT_SECRET, consultant_id="bench", role=Role.ADMIN, ttl_s=3600
                )
                url = replica.url.replace("http", "ws", 1) + f"/ws?token={token}&rooms=kanban"
                sockets, per_connection = await connect_idle(url, n, replica.process.pid)

                async def publish(i: int) -> None:
                    event = lead_event(i)
                    await bus.publish(event.name, event.model_dump_json().encode())

                return await fan_out(sockets, events, rate, publish, per_connection)
            finally:
                await bus.stop()


async def measure_bare(n: int, events: int, rate: float) -> dict[str, float]:
    cluster = Cluster(env={})
    server = cluster.start("bare", command=[sys.executable, "-m", "bench.bare_broadcast"])
    url = f"ws://127.0.0.1:{server.port}/"
    try:
        for _ in range(100):
            try:
                probe = await connect(url)
                await probe.close()
                break
            except OSError:
                await asyncio.sleep(0.1)
        sockets, per_connection = await connect_idle(url, n, server.process.pid)
        trigger = await connect(url + "trigger")

        async def broadcast(i: int) -> None:
            frame = {
                "id": str(i),
                "event": "kanban:lead_created",
                "data": lead_event(i).lead.model_dump(mode="json"),
                "ts": "",
            }
            await trigger.send(json.dumps(frame))

        try:
            return await fan_out(sockets, events, rate, broadcast, per_connection)
        finally:
            await trigger.close()
    finally:
        cluster.stop_all()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, nargs="+", default=[1000, 5000, 10000])
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--rate", type=float, default=10.0, help="events per second")
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    print(f"{args.events} events at {args.rate}/s to every client; clients in one process\n")
    for n in args.clients:
        ours = await measure_leadflow(n, args.events, args.rate)
        bare = await measure_bare(n, args.events, args.rate)
        ratio = 100 * ours["deliveries_per_s"] / bare["deliveries_per_s"]
        for name, f in (("leadflow realtime", ours), ("bare websockets broadcast", bare)):
            figures = (
                f"p50 {f['p50_ms']:7.1f} ms  p99 {f['p99_ms']:7.1f} ms  "
                f"{f['deliveries_per_s']:9.0f} deliveries/s  "
                f"{f['kib_per_connection']:5.1f} KiB/conn"
            )
            print(f"{n:>6} clients  {name:<26} {figures}")
        print(f"{'':>15}fanout rate vs bare: {ratio:.0f}%\n")


if __name__ == "__main__":
    asyncio.run(main())
