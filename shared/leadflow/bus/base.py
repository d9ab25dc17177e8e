"""The bus interface: topic-routed events, competing consumers, bounded retry, RPC."""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Counter

from leadflow.events import Event, parse_event
from leadflow.outages import is_outage, outage_delay_s

log = logging.getLogger(__name__)

OUTAGE_RETRIES = Counter(
    "leadflow_outage_retries_total",
    "handler runs that met an unreachable database or broker and were tried again",
    ["queue"],
)


class RpcTimeout(TimeoutError):
    """The service addressed by a request did not answer before the deadline."""


@dataclass(frozen=True)
class QueueSpec:
    """A queue bound to the events exchange with topic patterns.

    Durable queues are shared by every replica of a service (competing consumers).
    A `per_replica` queue is exclusive to one process, so every replica sees every event.
    """

    name: str
    bindings: tuple[str, ...]
    per_replica: bool = False
    prefetch: int | None = None
    max_deliveries: int | None = None
    # Background work: a delivery waits to start while its process serves a request (see
    # `RequestsFirst`). Give such a queue a small prefetch too: deliveries that started
    # before a request came still share the event loop and the pool with it.
    yields_to_requests: bool = False


@dataclass
class Delivery:
    """One delivery of one message to a handler."""

    routing_key: str
    body: bytes
    message_id: str | None = None
    correlation_id: str | None = None
    headers: dict[str, Any] = field(default_factory=dict)
    attempt: int = 1

    def event(self) -> Event:
        """The typed event this delivery carries (by its routing key)."""
        return parse_event(self.routing_key, self.body)


Handler = Callable[[Delivery], Awaitable[None]]
RpcHandler = Callable[[bytes], Awaitable[bytes]]


def topic_matches(pattern: str, routing_key: str) -> bool:
    """AMQP topic matching: `*` is exactly one word, `#` zero or more words."""

    def match(p: list[str], k: list[str]) -> bool:
        if not p:
            return not k
        head, rest = p[0], p[1:]
        if head == "#":
            return any(match(rest, k[i:]) for i in range(len(k) + 1))
        if not k:
            return False
        return (head == "*" or head == k[0]) and match(rest, k[1:])

    return match(pattern.split("."), routing_key.split("."))


class RequestsFirst:
    """Requests before background events, inside one process.

    A request has a caller waiting (at intake, a person's POST); a queue's event can be
    late. Both share the process's event loop and database pool, and under overload the
    events won: at 80 leads/s, leads' pipeline deliveries held the pool and create_lead
    waited up to a second for a connection (p99). So a delivery from a queue that
    `yields_to_requests` starts only while no request is being served, or after waiting
    `max_wait_s`: a steady stream of requests slows the background work, never stops it.
    """

    def __init__(self, max_wait_s: float = 1.0) -> None:
        self.max_wait_s = max_wait_s
        self._serving = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @contextlib.contextmanager
    def serving(self) -> Iterator[None]:
        """Around answering one request."""
        self._serving += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._serving -= 1
            if not self._serving:
                self._idle.set()

    async def turn(self) -> None:
        """Until no request is being served, or `max_wait_s` passed."""
        if not self._serving:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.max_wait_s):
                # A request may start between the wake-up and this delivery's turn.
                while self._serving:
                    await self._idle.wait()


def retry_delay_s(attempt: int, *, base: float = 0.05, cap: float = 2.0) -> float:
    """Jittered exponential backoff before a failed message is redelivered."""
    return float(min(cap, base * 2 ** (attempt - 1)) * (0.5 + random.random() / 2))


class Bus(abc.ABC):
    """Publish events, consume queues, serve and call request/reply endpoints."""

    def __init__(
        self, *, prefetch: int = 32, max_deliveries: int = 5, outage_retry_s: float = 60.0
    ) -> None:
        self.prefetch = prefetch
        self.max_deliveries = max_deliveries
        self.outage_retry_s = outage_retry_s
        self.requests_first = RequestsFirst()
        self._reconnect_listeners: list[Callable[[], Awaitable[None]]] = []

    def on_reconnected(self, listener: Callable[[], Awaitable[None]]) -> None:
        """Call `listener` each time the broker connection comes back after a loss: what
        a per-replica queue was sent meanwhile may be lost with it."""
        self._reconnect_listeners.append(listener)

    async def _reconnected(self) -> None:
        for listener in self._reconnect_listeners:
            try:
                await listener()
            except Exception:
                log.exception("reconnect listener failed")

    async def handle(self, spec: QueueSpec, handler: Handler, delivery: Delivery) -> None:
        """Run `handler` on one of `spec`'s deliveries, as every bus does: once the
        requests being served let it (if the queue `yields_to_requests`), through outages."""
        if spec.yields_to_requests:
            await self.requests_first.turn()
        await self.handle_through_outages(spec.name, handler, delivery)

    async def handle_through_outages(
        self, queue: str, handler: Handler, delivery: Delivery
    ) -> None:
        """Run `handler`; while it fails because a dependency is out of reach (see
        `leadflow.outages`), wait and run it again, for up to `outage_retry_s`. The
        message stays with this consumer meanwhile, so an outage spends none of the
        delivery budget meant for poison messages. Other failures, and an outage that
        outlasts the window, raise as they are."""
        deadline = time.monotonic() + self.outage_retry_s
        tries = 0
        while True:
            try:
                await handler(delivery)
                return
            except Exception as exc:
                tries += 1
                delay = outage_delay_s(tries)
                if not is_outage(exc) or time.monotonic() + delay > deadline:
                    raise
                OUTAGE_RETRIES.labels(queue).inc()
                log.warning(
                    "%s: a dependency is out of reach (%s: %s); trying again (%d)",
                    queue,
                    type(exc).__name__,
                    exc,
                    tries,
                )
                await asyncio.sleep(delay)

    async def publish_event(self, event: Event) -> None:
        """Publish a domain event, persistent and confirmed, routed by its name."""
        await self.publish(
            event.name,
            event.model_dump_json().encode(),
            message_id=event.event_id,
            correlation_id=event.correlation_id,
        )

    async def publish(
        self,
        routing_key: str,
        body: bytes,
        *,
        message_id: str | None = None,
        correlation_id: str | None = None,
        headers: dict[str, Any] | None = None,
    ) -> None:
        """Publish raw bytes to the events exchange; returns once the broker has it."""
        await self.send(
            Delivery(routing_key, body, message_id, correlation_id, dict(headers or {}))
        )

    @abc.abstractmethod
    async def send(self, message: Delivery) -> None:
        """`publish`, as each broker does it."""

    @abc.abstractmethod
    def consume(self, spec: QueueSpec, handler: Handler) -> None:
        """Register a handler for a queue; call before `start()`.

        The handler acks by returning. An exception means a retry after a backoff, up
        to `max_deliveries` deliveries, then the message goes to the dead-letter queue.
        """

    @abc.abstractmethod
    def serve(self, endpoint: str, handler: RpcHandler) -> None:
        """Answer requests sent to `endpoint`; call before `start()`."""

    @abc.abstractmethod
    async def request(self, endpoint: str, body: bytes, *, timeout: float) -> bytes:
        """Send a request and wait for its reply; `RpcTimeout` past the deadline."""

    @abc.abstractmethod
    async def start(self) -> None: ...

    @abc.abstractmethod
    async def stop(self) -> None: ...

    @abc.abstractmethod
    async def ping(self) -> bool:
        """Is the broker reachable (for /readyz)?"""

    @abc.abstractmethod
    async def dead_letters(self, queue: str) -> list[Delivery]:
        """What the dead-letter queue of `queue` holds (inspection and tests)."""

    @abc.abstractmethod
    async def replay_dead_letters(self, queue: str, *, message_id: str | None = None) -> int:
        """Send `queue`'s dead letters (all, or the one with `message_id`) to that queue
        again, after a fix; returns how many."""
