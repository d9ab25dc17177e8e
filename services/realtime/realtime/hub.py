"""Connected clients, their rooms, their bounded send queues, and the replay buffer."""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from leadflow.auth import AccessClaims
from prometheus_client import Counter, Gauge, Histogram

from realtime.domain import Frame, LeadOwners, ReplayBuffer, may_join, may_receive, resync_frame

log = logging.getLogger(__name__)

CLIENTS = Gauge("realtime_clients", "connected clients", ["transport"])
EVENTS_IN = Counter("realtime_events_in_total", "broker events received")
FRAMES_OUT = Counter("realtime_frames_queued_total", "frames queued to clients")
DROPS = Counter("realtime_slow_client_drops_total", "clients dropped for a full send queue")
FANOUT_LATENCY = Histogram(
    "realtime_fanout_seconds",
    "from the event's occurrence to its frames being queued for every client",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)

CLOSE_GOING_AWAY = 1001
CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_UNAUTHORIZED = 4401


@dataclass(eq=False)
class Client:
    claims: AccessClaims
    queue: asyncio.Queue[str]
    transport: str
    rooms: set[str] = field(default_factory=set)
    # Set when the client must go: overflow (1013), shutdown (1001).
    close_code: int | None = None
    closing: asyncio.Event = field(default_factory=asyncio.Event)

    def close(self, code: int) -> None:
        if self.close_code is None:
            self.close_code = code
        self.closing.set()

    def offer(self, encoded: str) -> None:
        """Queue a frame without ever blocking; a client that cannot keep up is dropped."""
        if self.close_code is not None:
            return
        try:
            self.queue.put_nowait(encoded)
            FRAMES_OUT.inc()
        except asyncio.QueueFull:
            DROPS.inc()
            self.close(CLOSE_TRY_AGAIN_LATER)


class Hub:
    def __init__(
        self,
        *,
        send_queue_size: int = 256,
        replay_capacity: int = 5000,
        on_presence_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.clients: set[Client] = set()
        self.send_queue_size = send_queue_size
        self.buffer = ReplayBuffer(replay_capacity)
        self.owners = LeadOwners()
        self.connections: collections.Counter[str] = collections.Counter()  # per consultant
        self.on_presence_change = on_presence_change

    def online(self) -> list[str]:
        """Consultants with at least one open connection to this replica."""
        return sorted(self.connections)

    def connect(self, claims: AccessClaims, transport: str, rooms: list[str]) -> Client:
        client = Client(claims, asyncio.Queue(self.send_queue_size), transport)
        client.rooms.add(f"consultant:{claims.consultant_id}")
        client.rooms.update(room for room in rooms if may_join(claims, room))
        self.clients.add(client)
        CLIENTS.labels(transport).inc()
        self.connections[claims.consultant_id] += 1
        if self.connections[claims.consultant_id] == 1:
            self.on_presence_change()
        return client

    def disconnect(self, client: Client) -> None:
        if client in self.clients:
            self.clients.discard(client)
            CLIENTS.labels(client.transport).dec()
            consultant = client.claims.consultant_id
            self.connections[consultant] -= 1
            if self.connections[consultant] <= 0:
                del self.connections[consultant]
                self.on_presence_change()

    def replay(self, client: Client, last_event_id: str) -> None:
        """Frames the client missed since `last_event_id`, or a `resync` if that is gone."""
        missed = self.buffer.after(last_event_id)
        if missed is None:
            client.offer(resync_frame().encode())
            return
        for frame in missed:
            if frame.room in client.rooms and may_receive(client.claims, frame):
                client.offer(frame.encode())

    def fan_out(self, frame: Frame) -> None:
        """Queue a frame to every client in its room allowed to see it; never blocks."""
        self.buffer.append(frame)
        encoded = frame.encode()
        for client in list(self.clients):
            if frame.room in client.rooms and may_receive(client.claims, frame):
                client.offer(encoded)

    def close_all(self, code: int = CLOSE_GOING_AWAY) -> None:
        for client in list(self.clients):
            client.close(code)
