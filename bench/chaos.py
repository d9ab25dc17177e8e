"""Fault suite: stream leads and WhatsApp messages through every service while killing
things, then check every guarantee.

    .venv/bin/python -m bench.chaos [--runs 5] [--leads 300] [--rate 5] [--messages 60]

Starts its own PostgreSQL cluster and a three-node RabbitMQ cluster (never the shared
servers: it kills these), every service its own process against them (RABBITMQ_URL lists
the three nodes), restarted like Kubernetes would if one exits. Each run streams leads at
`--rate`/s through the gateway (an API client that follows the contract: Idempotency-Key,
retries on 503 and refused connections after Retry-After) and inbound WhatsApp messages
(10% delivered twice by "WhatsApp"), with WebSocket clients on the Kanban. During the
stream: kill -9 of leads, assignment, ai and the gateway (each restarted), kill -9 of a
broker node (run 1: node 1, the first address, which every service is connected to;
each later run the next node, where the others went), back as the stream ends, and
`pg_ctl restart -m fast`. Then it checks, for that run's leads and chats: each lead
stored once, classified, assigned once, round-robin exact; each inbound message stored
once; every dead-letter queue empty; every outbox drained; each WebSocket client saw each
event id at most once, and every lead's created and assigned frames unless it was told
to resync. One line per run, and a table at the end; exit status 1 if any check failed
in any run. Not part of `make test` (minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
from leadflow.bus.rabbit import RabbitBus
from leadflow.bus.topology import ALL_QUEUES
from leadflow.testing.fixtures import TEST_ADMIN, service_env
from leadflow.testing.processes import Cluster, RunningProcess, running_cluster
from leadflow.testing.servers import OwnPostgres, RabbitCluster
from leadflow.testing.services import create_database, new_namespace, plain_postgres_url
from websockets.asyncio.client import ClientConnection, connect

SERVICES = ("gateway", "leads", "assignment", "ai", "realtime", "wa-consultant")
KILLED_SERVICES = ("leads", "assignment", "ai", "gateway")
CONSULTANTS = 3
SOCKETS = 3


@dataclass
class Outcome:
    """What one run saw, and which checks failed."""

    run: int
    failures: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            self.failures.append(what)


# --- processes ----------------------------------------------------------------------


def kill9(process: RunningProcess) -> None:
    with contextlib.suppress(ProcessLookupError):
        process.process.send_signal(signal.SIGKILL)
    process.process.wait(timeout=30)


def respawn(cluster: Cluster, old: RunningProcess) -> RunningProcess:
    """The same service again, on the same port (as Kubernetes restarts a pod)."""
    env = dict(os.environ, **cluster.env, PORT=str(old.port))
    with old.log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "leadflow", "serve", old.name],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    new = RunningProcess(old.name, old.port, process, old.log_path)
    replicas = cluster.processes[old.name]
    replicas[replicas.index(old)] = new
    return new


async def ready_after(process: RunningProcess, since: float, log: list[str]) -> None:
    """Record how long a restarted service took to answer /readyz again."""
    async with httpx.AsyncClient(timeout=2) as http:
        while process.process.poll() is None:
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(f"{process.url}/readyz")).status_code == 200:
                    log.append(
                        f"{process.name} ready {time.monotonic() - since:.0f}s after its kill"
                    )
                    return
            await asyncio.sleep(0.5)


async def supervise(cluster: Cluster, restarts: list[str], stop: asyncio.Event) -> None:
    """Restart any service process that exited on its own, as Kubernetes would."""
    while not stop.is_set():
        for replicas in list(cluster.processes.values()):
            for running in list(replicas):
                code = running.process.poll()
                if code is not None and code != -signal.SIGKILL:
                    restarts.append(f"{running.name} exited ({code}); restarted")
                    respawn(cluster, running)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


# --- clients ------------------------------------------------------------------------


class Api:
    """A client of the public API that follows the contract's retry advice."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.AsyncClient(base_url=base_url, timeout=15)
        self.statuses: collections.Counter[int] = collections.Counter()
        self.refused = 0
        self.token = ""

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        deadline = time.monotonic() + 180
        # Taken out once, not in the loop: a retry carries the same Idempotency-Key.
        headers = self._headers(kwargs.pop("headers", {}))
        while True:
            try:
                response = await self.http.request(method, path, headers=headers, **kwargs)
            except httpx.TransportError:
                self.refused += 1  # the gateway is down (kill -9): try again shortly
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)
                continue
            self.statuses[response.status_code] += 1
            if response.status_code in (429, 503) and time.monotonic() < deadline:
                await asyncio.sleep(float(response.headers.get("retry-after", "1")))
                continue
            return response

    def _headers(self, extra: dict[str, str]) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **extra} if self.token else extra

    async def login(self, email: str, password: str) -> str:
        response = await self.call(
            "POST", "/api/auth/login", json={"email": email, "password": password}
        )
        response.raise_for_status()
        token: str = response.json()["access_token"]
        return token


@dataclass
class Watcher:
    """A WebSocket client on the Kanban, recording every frame it gets."""

    url: str
    token: str
    frames: list[dict[str, Any]] = field(default_factory=list)
    reconnects: int = 0
    _task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        socket = await self._open()
        self._task = asyncio.create_task(self._read(socket))

    async def _open(self) -> ClientConnection:
        ws_url = self.url.replace("http", "ws", 1) + f"/ws?token={self.token}&rooms=kanban"
        return await connect(ws_url)

    async def _read(self, socket: ClientConnection) -> None:
        while True:
            try:
                async for text in socket:
                    self.frames.append(json.loads(text))
            except Exception:  # a dropped socket is reconnected below
                pass
            # Dropped: reconnect, resuming from the last event id (replay or resync).
            self.reconnects += 1
            last = next((f["id"] for f in reversed(self.frames) if f.get("id")), "")
            while True:
                with contextlib.suppress(Exception):
                    socket = await connect(
                        self.url.replace("http", "ws", 1)
                        + f"/ws?token={self.token}&rooms=kanban&last_event_id={last}"
                    )
                    break
                await asyncio.sleep(0.5)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task


# --- one run ------------------------------------------------------------------------


async def stream(
    api: Api, leads: int, rate: float, messages: int, outcome: Outcome
) -> dict[str, str]:
    """Create `leads` leads at `rate`/s and send `messages` inbound WhatsApp messages
    (10% twice); returns phone -> lead id."""
    created: dict[str, str] = {}
    sem = asyncio.Semaphore(64)
    phones = [f"+551199{outcome.run % 10}{i:06d}" for i in range(leads)]

    async def post(
        what: str, path: str, body: dict[str, Any], accepted: tuple[int, ...], **kwargs: Any
    ) -> httpx.Response | None:
        """The answer, or None when it was not `accepted` (a failure of the run)."""
        async with sem:
            response = await api.call("POST", path, json=body, **kwargs)
        if response.status_code in accepted:
            return response
        outcome.failures.append(f"{what}: HTTP {response.status_code} {response.text[:120]}")
        return None

    async def create(phone: str, n: int) -> None:
        response = await post(
            f"lead {n}",
            "/api/leads",
            {
                "name": f"Chaos r{outcome.run} {n}",
                "phone": phone,
                "metadata": {"asset_value": 200000 + n, "monthly_income": 9000},
            },
            (200, 201),
            headers={"Idempotency-Key": f"chaos-{outcome.run}-{n}"},
        )
        if response is not None:
            created[phone] = response.json()["data"]["id"]

    async def inbound(n: int, message_id: str) -> None:
        sender = f"+552199{outcome.run % 10}{n % 30:06d}"
        body = {"from": sender, "text": f"mensagem {n}", "id": message_id}
        await post(f"message {n}", "/api/dev/whatsapp/consultant/inbound", body, (202,))

    tasks: list[asyncio.Task[None]] = []
    started = time.monotonic()
    message_every = max(1, leads // max(1, messages))
    sent_messages = 0
    for n, phone in enumerate(phones):
        await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
        tasks.append(asyncio.create_task(create(phone, n)))
        if n % message_every == 0 and sent_messages < messages:
            message_id = f"CHAOS{outcome.run}X{sent_messages:05d}"
            tasks.append(asyncio.create_task(inbound(sent_messages, message_id)))
            if sent_messages % 10 == 0:  # WhatsApp delivers this one again
                tasks.append(asyncio.create_task(inbound(sent_messages, message_id)))
            sent_messages += 1
    await asyncio.gather(*tasks)
    outcome.figures["messages_sent"] = sent_messages
    return created


async def inject_faults(
    cluster: Cluster,
    rabbit: RabbitCluster,
    node: int,
    postgres: OwnPostgres,
    duration: float,
    log: list[str],
) -> list[asyncio.Task[None]]:
    """The faults, spread over the stream; each killed process is restarted at once (the
    broker node after the stream). Returns the tasks timing the services' recoveries."""
    started = time.monotonic()
    recoveries = []

    async def at(fraction: float) -> None:
        await asyncio.sleep(max(0.0, started + fraction * duration - time.monotonic()))

    # The database and the broker first, while every service is up and streaming (a
    # killed service takes a while to come back on a busy machine) ...
    await at(0.12)
    await asyncio.to_thread(postgres.restart)
    log.append(f"{time.monotonic() - started:5.1f}s pg_ctl restart -m fast")
    await at(0.3)
    # Run 1 kills node 1, the first address, which every service is connected to; later
    # runs the next node, where those that failed over went.
    await asyncio.to_thread(rabbit.kill, node)
    log.append(f"{time.monotonic() - started:5.1f}s kill -9 rabbit node {node + 1}")
    # ... then the services, one after the other.
    for fraction, name in zip((0.45, 0.55, 0.65, 0.75), KILLED_SERVICES, strict=True):
        await at(fraction)
        victim = cluster.processes[name][0]
        kill9(victim)
        killed = time.monotonic()
        log.append(f"{killed - started:5.1f}s kill -9 {name}")
        recoveries.append(asyncio.create_task(ready_after(respawn(cluster, victim), killed, log)))
    return recoveries


async def settled(database: str, run: int, leads: int, deadline: float) -> None:
    """Until every lead of the run is classified and assigned, or the deadline."""
    connection = await asyncpg.connect(plain_postgres_url(database))
    try:
        while time.monotonic() < deadline:
            done = await connection.fetchval(
                "SELECT count(*) FROM leads WHERE consultant_id IS NOT NULL "
                "AND temperature IS NOT NULL AND name LIKE $1",
                f"Chaos r{run} %",
            )
            if done >= leads:
                return
            await asyncio.sleep(0.5)
    finally:
        await connection.close()


async def check(
    outcome: Outcome,
    api: Api,
    database: str,
    env: dict[str, str],
    created: dict[str, str],
    watchers: list[Watcher],
    consultants: list[str],
    leads: int,
) -> None:
    db = await asyncpg.connect(plain_postgres_url(database))
    try:
        rows = await db.fetch(
            "SELECT id, phone, consultant_id, temperature FROM leads WHERE name LIKE $1",
            f"Chaos r{outcome.run} %",
        )
        phones = collections.Counter(row["phone"] for row in rows)
        outcome.check(len(rows) == leads, f"{len(rows)} leads stored for {leads} sent")
        outcome.check(max(phones.values(), default=1) == 1, "a phone stored twice")
        outcome.check(len(created) == leads, f"{leads - len(created)} leads never acknowledged")
        unclassified = sum(1 for row in rows if row["temperature"] is None)
        unassigned = sum(1 for row in rows if row["consultant_id"] is None)
        outcome.check(unclassified == 0, f"{unclassified} leads unclassified")
        outcome.check(unassigned == 0, f"{unassigned} leads unassigned")
        per = collections.Counter(row["consultant_id"] for row in rows if row["consultant_id"])
        counts = sorted((per.get(c, 0) for c in consultants), reverse=True)
        outcome.figures["round_robin"] = "/".join(map(str, counts))
        outcome.check(
            max(counts) - min(counts) <= 1 and sum(counts) == leads - unassigned,
            f"round-robin not exact: {counts}",
        )
        twice = await db.fetchval(
            "SELECT count(*) FROM (SELECT lead_id FROM interactions WHERE kind = 'assigned' "
            "AND lead_id = ANY($1::text[]) GROUP BY lead_id HAVING count(*) > 1) AS doubled",
            [row["id"] for row in rows],
        )
        outcome.check(twice == 0, f"{twice} leads assigned more than once")
        outboxes = [
            r["table_name"]
            for r in await db.fetch(
                "SELECT table_name FROM information_schema.tables WHERE table_name LIKE '%outbox'"
            )
        ]
        pending = 0
        for table in outboxes:
            pending += await db.fetchval(f"SELECT count(*) FROM {table} WHERE published_at IS NULL")
        outcome.check(pending == 0, f"{pending} outbox rows unpublished")
    finally:
        await db.close()

    # Each inbound message once, through the API a consultant console uses.
    sent = outcome.figures["messages_sent"]
    stored: collections.Counter[str] = collections.Counter()
    for chat in range(min(30, sent)):
        jid = f"552199{outcome.run % 10}{chat:06d}@s.whatsapp.net"
        response = await api.call("GET", f"/api/chats/{jid}/messages", params={"limit": 200})
        if response.status_code == 200:
            for message in response.json()["data"]:
                if str(message.get("text", "")).startswith("mensagem "):
                    stored[message["text"]] += 1
    outcome.figures["messages_stored"] = len(stored)
    outcome.check(len(stored) == sent, f"{len(stored)} of {sent} inbound messages stored")
    outcome.check(max(stored.values(), default=1) == 1, "an inbound message stored twice")

    bus = RabbitBus(env["RABBITMQ_URL"], namespace=env["BROKER_NAMESPACE"])
    dead = 0
    for spec in ALL_QUEUES:
        if not spec.per_replica:
            with contextlib.suppress(Exception):
                dead += len(await bus.dead_letters(spec.name))
    await bus.stop()
    outcome.figures["dead_letters"] = dead
    outcome.check(dead == 0, f"{dead} dead letters")

    ids = set(created.values())
    duplicates = resyncs = missing = 0
    for watcher in watchers:
        seen = collections.Counter(f["id"] for f in watcher.frames if f.get("id"))
        duplicates += sum(n - 1 for n in seen.values() if n > 1)
        told = any(f["event"] == "resync" for f in watcher.frames)
        resyncs += told
        got = collections.defaultdict(set)
        for f in watcher.frames:
            if f["event"] in ("kanban:lead_created", "kanban:lead_assigned"):
                got[f["event"]].add(f["data"]["id"])
        lacking = len(ids - got["kanban:lead_created"]) + len(ids - got["kanban:lead_assigned"])
        if not told:
            missing += lacking
    outcome.figures["ws_duplicates"] = duplicates
    outcome.figures["ws_resyncs"] = resyncs
    outcome.check(duplicates == 0, f"{duplicates} duplicate WebSocket frames")
    outcome.check(missing == 0, f"{missing} frames missing without a resync")
    outcome.figures["http"] = dict(sorted(api.statuses.items()))
    outcome.check(api.statuses.get(500, 0) == 0, f"{api.statuses.get(500, 0)} HTTP 500s")


async def one_run(
    run: int,
    cluster: Cluster,
    api: Api,
    consultants: list[str],
    database: str,
    rabbit: RabbitCluster,
    postgres: OwnPostgres,
    args: argparse.Namespace,
) -> Outcome:
    outcome = Outcome(run)
    api.statuses.clear()
    started = time.monotonic()
    watchers = [Watcher(cluster.realtime, api.token) for _ in range(SOCKETS)]
    for watcher in watchers:
        await watcher.start()
    duration = args.leads / args.rate
    faults: list[str] = []
    stream_task = asyncio.create_task(stream(api, args.leads, args.rate, args.messages, outcome))
    node = (run - 1) % len(rabbit.nodes)
    recoveries = await inject_faults(cluster, rabbit, node, postgres, duration, faults)
    # The node comes back while the stream ends and the pipeline settles.
    node_back = asyncio.create_task(asyncio.to_thread(rabbit.restart, node))
    created = await stream_task
    await settled(database, run, args.leads, time.monotonic() + 180)
    await node_back
    faults.append(f"rabbit node {node + 1} back {time.monotonic() - started:.0f}s into the run")
    for recovery in recoveries:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(recovery, 60)
    await asyncio.sleep(3)  # the last frames on their way to the sockets
    for watcher in watchers:
        await watcher.stop()
    await check(outcome, api, database, cluster.env, created, watchers, consultants, args.leads)
    outcome.figures["faults"] = faults
    outcome.figures["seconds"] = round(time.monotonic() - started)
    return outcome


async def campaign(
    rabbit: RabbitCluster, postgres: OwnPostgres, args: argparse.Namespace
) -> list[Outcome]:
    """Every service started once; then `--runs` rounds of stream, faults and checks."""
    database = await create_database(postgres.url)
    env = service_env(rabbit.url, database, new_namespace()) | {
        "LOG_LEVEL": "WARNING",
        "DB_POOL_SIZE": "8",
        "CONSUMER_PREFETCH": "16",
    }
    outcomes: list[Outcome] = []
    with running_cluster(env, services=SERVICES, ready_timeout=600) as cluster:
        print(f"services up; logs in {cluster.log_dir}", flush=True)
        api = Api(cluster.gateway)
        api.token = await api.login(*TEST_ADMIN)
        consultants = []
        for i in range(CONSULTANTS):
            response = await api.call(
                "POST",
                "/api/consultants",
                json={
                    "name": f"Consultora {i}",
                    "email": f"c{i}-{uuid.uuid4().hex[:6]}@example.com",
                    "password": "password-123",
                },
            )
            response.raise_for_status()
            consultants.append(response.json()["data"]["id"])
        stop, restarts = asyncio.Event(), list[str]()
        supervisor = asyncio.create_task(supervise(cluster, restarts, stop))
        for run in range(1, args.runs + 1):
            restarts.clear()
            outcome = await one_run(
                run, cluster, api, consultants, database, rabbit, postgres, args
            )
            outcome.figures["crashed_and_restarted"] = list(restarts)
            outcomes.append(outcome)
            status = "PASS" if not outcome.failures else "FAIL: " + "; ".join(outcome.failures[:8])
            print(f"run {run}: {status}\n  {json.dumps(outcome.figures)}", flush=True)
        stop.set()
        await supervisor
        await api.http.aclose()
    return outcomes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--leads", type=int, default=300)
    parser.add_argument("--rate", type=float, default=5.0, help="leads per second")
    parser.add_argument("--messages", type=int, default=60)
    args = parser.parse_args()
    postgres, rabbit = OwnPostgres(), RabbitCluster(3)
    try:
        print("starting PostgreSQL and a three-node RabbitMQ cluster of our own ...", flush=True)
        postgres.start()
        rabbit.start()
        outcomes = asyncio.run(campaign(rabbit, postgres, args))
    finally:
        rabbit.remove()
        postgres.remove()
    print(table(outcomes, args))
    return 1 if any(o.failures for o in outcomes) else 0


def table(outcomes: list[Outcome], args: argparse.Namespace) -> str:
    lines = [
        f"\n{args.leads} leads at {args.rate:g}/s, {args.messages} inbound messages (10% twice); "
        "kill -9 of leads, assignment, ai, gateway and RabbitMQ node ((run-1) mod 3)+1; "
        "pg_ctl restart -m fast",
        "| run | result | round-robin | messages stored | dead letters | WS duplicates "
        "| WS clients told to resync | HTTP statuses | seconds |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        f = o.figures
        lines.append(
            f"| {o.run} | {'pass' if not o.failures else 'FAIL'} | {f.get('round_robin')} "
            f"| {f.get('messages_stored')}/{f.get('messages_sent')} | {f.get('dead_letters')} "
            f"| {f.get('ws_duplicates')} | {f.get('ws_resyncs')}/{SOCKETS} | {f.get('http')} "
            f"| {f.get('seconds')} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
