"""Connected clients, their rooms, their bounded send queues, and the replay buffer."""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from leadflow.auth import AccessClaims
from prometheus_client import Counter, Gauge, Histogram

from realtime.domain import (
    FEED_INTERRUPTED,
    Frame,
    LeadOwners,
    RecentIds,
    ReplayBuffer,
    may_join,
    may_receive,
    resync_frame,
)

log = logging.getLogger(__name__)

CLIENTS = Gauge("realtime_clients", "connected clients", ["transport"])
EVENTS_IN = Counter("realtime_events_in_total", "broker events received")
FRAMES_OUT = Counter("realtime_frames_queued_total", "frames queued to clients")
DROPS = Counter("realtime_slow_client_drops_total", "clients dropped for a full send queue")
DUPLICATES = Counter(
    "realtime_duplicate_events_total", "broker events dropped as already fanned out"
)
RESYNCS = Counter("realtime_feed_resyncs_total", "times every client was told to resync")
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
    """One connection's bounded send queue.

    A list and one future rather than an asyncio.Queue: a fanout to thousands of clients
    then costs an append and a set_result each, the sender takes a burst at once, and an
    idle connection carries no deque blocks (~700 bytes each).
    """

    claims: AccessClaims
    transport: str
    limit: int = 256
    rooms: set[str] = field(default_factory=set)
    pending: list[str] = field(default_factory=list)
    # Set when the client must go: overflow (1013), shutdown (1001), token expiry (4401).
    close_code: int | None = None
    _waiter: asyncio.Future[None] | None = None

    def close(self, code: int) -> None:
        if self.close_code is None:
            self.close_code = code
        self._wake()

    def offer(self, encoded: str) -> bool:
        """Queue a frame without ever blocking; a client that cannot keep up is dropped."""
        if self.close_code is not None:
            return False
        if len(self.pending) >= self.limit:
            DROPS.inc()
            self.close(CLOSE_TRY_AGAIN_LATER)
            return False
        self.pending.append(encoded)
        self._wake()
        return True

    async def wait(self) -> None:
        """Until a frame is pending or the client is closing."""
        if self.pending or self.close_code is not None:
            return
        self._waiter = asyncio.get_running_loop().create_future()
        await self._waiter

    def take(self) -> list[str]:
        """Everything queued, oldest first; the queue is empty afterwards."""
        frames, self.pending = self.pending, []
        return frames

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


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
        self.recent = RecentIds()
        self.owners = LeadOwners()
        self.connections: collections.Counter[str] = collections.Counter()  # per consultant
        self.on_presence_change = on_presence_change

    def online(self) -> list[str]:
        """Consultants with at least one open connection to this replica."""
        return sorted(self.connections)

    def connect(self, claims: AccessClaims, transport: str, rooms: list[str]) -> Client:
        client = Client(claims, transport, self.send_queue_size)
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
        encoded = frame.encode()
        self.buffer.append(frame, len(encoded))
        queued = 0
        for client in list(self.clients):
            if frame.room in client.rooms and may_receive(client.claims, frame):
                queued += client.offer(encoded)
        FRAMES_OUT.inc(queued)

    def first_time(self, event_id: str) -> bool:
        """False for an event this replica has fanned out already (a redelivery)."""
        if self.recent.first_time(event_id):
            return True
        DUPLICATES.inc()
        return False

    def feed_interrupted(self) -> None:
        """This replica's queue may have lost events (it went with its broker node): every
        client is told to resync, and no replay may paper over the gap."""
        RESYNCS.inc()
        self.buffer.forget()
        encoded = resync_frame(FEED_INTERRUPTED).encode()
        for client in list(self.clients):
            client.offer(encoded)

    def close_all(self, code: int = CLOSE_GOING_AWAY) -> None:
        for client in list(self.clients):
            client.close(code)

    def close_where(self, refused: Callable[[AccessClaims], bool], code: int) -> None:
        """Close the clients whose token is now refused (their session ended)."""
        for client in list(self.clients):
            if refused(client.claims):
                client.close(code)
