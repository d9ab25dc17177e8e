"""Connected clients, their rooms and their bounded send queues."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from leadflow.auth import AccessClaims
from prometheus_client import Counter, Gauge

from realtime.domain import Frame, may_receive

log = logging.getLogger(__name__)

CLIENTS = Gauge("realtime_clients", "connected clients")
FRAMES_OUT = Counter("realtime_frames_sent_total", "frames queued to clients")
DROPS = Counter("realtime_slow_client_drops_total", "clients dropped for a full send queue")


@dataclass(eq=False)
class Client:
    claims: AccessClaims
    queue: asyncio.Queue[str]
    rooms: set[str] = field(default_factory=set)
    overflowed: asyncio.Event = field(default_factory=asyncio.Event)


class Hub:
    def __init__(self, *, send_queue_size: int = 256) -> None:
        self.clients: set[Client] = set()
        self.send_queue_size = send_queue_size

    def connect(self, claims: AccessClaims) -> Client:
        client = Client(claims, asyncio.Queue(self.send_queue_size))
        client.rooms.add(f"consultant:{claims.consultant_id}")
        self.clients.add(client)
        CLIENTS.set(len(self.clients))
        return client

    def disconnect(self, client: Client) -> None:
        self.clients.discard(client)
        CLIENTS.set(len(self.clients))

    def fan_out(self, frame: Frame) -> None:
        """Queue a frame to every client in its room allowed to see it; never blocks."""
        encoded = frame.encode()
        for client in list(self.clients):
            if frame.room not in client.rooms or not may_receive(client.claims, frame):
                continue
            try:
                client.queue.put_nowait(encoded)
                FRAMES_OUT.inc()
            except asyncio.QueueFull:
                DROPS.inc()
                client.overflowed.set()
