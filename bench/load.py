"""The benchmark's side of the pipeline: leads POSTed through the gateway at a rate (an open
loop, on `bench.http`'s lean client), and a WebSocket client reading the kanban room, with
when each lead was posted, which of its frames arrived and when it was seen assigned."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from leadflow.testing.processes import Cluster
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench.floors import paced
from bench.http import LeanClient, RequestFailed


@dataclass
class Run:
    rate: float
    posts: list[float]
    assigned: list[float]
    backlog_at_end: int
    missing: int  # never seen assigned within 5 s of the last POST (failed POSTs too)
    lag: float
    failed: int  # POSTs answered with an error, or not within the client's timeout

    @property
    def kept_up(self) -> bool:
        return self.missing == 0 and self.lag < 1.0


# What a board shows of a new lead, each a frame the client must get: it arrives, is
# classified (lead.scored, as an update) and is assigned.
KANBAN_FRAMES = ("kanban:lead_created", "kanban:lead_updated", "kanban:lead_assigned")


@dataclass
class Sent:
    posts: list[float]  # each answered POST's latency
    ids: list[str]  # the leads created
    failed: int
    lag: float  # how late the last POST started
    ended: float  # when the last POST was due (perf_counter)


class Pipeline:
    def __init__(self, cluster: Cluster, token: str) -> None:
        self.cluster = cluster
        self.client = LeanClient(cluster.gateway)
        self.token = token
        self.posted_at: dict[str, float] = {}
        self.assigned: dict[str, float] = {}
        self.frames: dict[str, set[str]] = {}  # lead id -> the kanban frames seen for it
        self.closed: str | None = None  # why the socket ended, if the server ended it
        self.socket: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self.seen = asyncio.Event()  # set on every kanban frame

    async def open_socket(self) -> None:
        self.closed = None
        url = self.cluster.realtime.replace("http", "ws", 1) + f"/ws?token={self.token}"
        self.socket = await connect(url, max_queue=None)
        await self.socket.send(json.dumps({"action": "join_room", "room": "kanban"}))
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.socket is not None
        with contextlib.suppress(ConnectionClosed):
            async for message in self.socket:
                frame = json.loads(message)
                event = frame.get("event")
                if event in KANBAN_FRAMES:
                    lead_id = frame["data"]["id"]
                    self.frames.setdefault(lead_id, set()).add(event)
                    if event == "kanban:lead_assigned":
                        self.assigned.setdefault(lead_id, time.perf_counter())
                    self.seen.set()
        # Not by us (close() cancels this task first): the server dropped the client.
        self.closed = f"closed by the server ({self.socket.close_code} {self.socket.close_reason})"
        self.seen.set()

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self.socket is not None:
            await self.socket.close()
        await self.client.close()

    async def send_leads(self, count: int, rate: float, tag: str) -> Sent:
        """POST `count` leads at `rate` (an open loop); returns once every POST ended."""
        headers = {"Authorization": f"Bearer {self.token}"}
        posts: list[float] = []
        ids: list[str] = []
        failed = 0

        async def post(i: int) -> None:
            nonlocal failed
            started = time.perf_counter()
            try:
                created = await self.client.post(
                    "/api/leads",
                    {
                        "name": f"Lead {tag} {i}",
                        "phone": f"+55219{tag}{i:05d}",
                        "metadata": {"asset_value": 300000, "monthly_income": 15000},
                    },
                    headers,
                )
            except RequestFailed:
                failed += 1  # an error or a timeout: the system did not keep up
                return
            posts.append(time.perf_counter() - started)
            lead_id = created["data"]["id"]
            self.posted_at[lead_id] = started
            ids.append(lead_id)

        started = time.perf_counter()
        lag = await paced(count, rate, post)
        return Sent(posts, ids, failed, lag, started + count / rate + lag)

    async def post_leads(self, count: int, rate: float, tag: str) -> Run:
        sent = await self.send_leads(count, rate, tag)
        ids = sent.ids
        backlog = sum(1 for lead_id in ids if lead_id not in self.assigned)
        await self.all_assigned(ids, within=5)
        latencies = [self.assigned[i] - self.posted_at[i] for i in ids if i in self.assigned]
        missing = sum(1 for i in ids if i not in self.assigned)
        await self.all_assigned(ids, within=30)  # stragglers land before the next run
        return Run(
            rate, sent.posts, latencies, backlog, missing + sent.failed, sent.lag, sent.failed
        )

    async def all_assigned(self, ids: list[str], *, within: float) -> None:
        """Until every lead of `ids` was seen assigned, or `within` seconds passed."""
        await self.until(lambda: all(lead_id in self.assigned for lead_id in ids), within)

    async def until(self, done: Callable[[], bool], within: float) -> None:
        """Until `done()` holds after a frame, the socket ends, or `within` seconds passed."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                while not done() and self.closed is None:
                    self.seen.clear()
                    await self.seen.wait()
