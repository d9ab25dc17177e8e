"""The embedded mode's broker: RabbitMQ's semantics we rely on, inside one process.

Topic routing, competing consumers per queue, ack by returning, redelivery with backoff
up to a bound, then a dead-letter list; request/reply with a deadline. Not durable: the
embedded mode trades crash-safety of in-flight messages for needing no servers (the
leads outbox still holds every event until it was published).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, replace
from typing import Any

from leadflow.bus.base import (
    Bus,
    Delivery,
    Handler,
    QueueSpec,
    RpcHandler,
    RpcTimeout,
    retry_delay_s,
    topic_matches,
)
from leadflow.bus.metrics import DEAD_LETTERED, instrumented
from leadflow.logs import correlation_id_var

log = logging.getLogger(__name__)


@dataclass
class _Queue:
    spec: QueueSpec
    items: asyncio.Queue[Delivery]
    handlers: list[Handler]
    dead: list[Delivery]


class InMemoryBus(Bus):
    """A process-local bus with the same contract as `RabbitBus`."""

    def __init__(
        self, *, prefetch: int = 32, max_deliveries: int = 5, outage_retry_s: float = 60.0
    ) -> None:
        super().__init__(
            prefetch=prefetch, max_deliveries=max_deliveries, outage_retry_s=outage_retry_s
        )
        self._queues: dict[str, _Queue] = {}
        self._rpc: dict[str, asyncio.Queue[tuple[bytes, asyncio.Future[bytes]]]] = {}
        self._rpc_handlers: dict[str, RpcHandler] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._running = False

    async def send(self, message: Delivery) -> None:
        routing_key = message.routing_key
        for queue in self._queues.values():
            if any(topic_matches(p, routing_key) for p in queue.spec.bindings):
                queue.items.put_nowait(replace(message, headers=dict(message.headers)))

    def consume(self, spec: QueueSpec, handler: Handler) -> None:
        key = f"{spec.name}.{uuid.uuid4().hex}" if spec.per_replica else spec.name
        queue = self._queues.get(key)
        if queue is None:
            queue = _Queue(spec, asyncio.Queue(), [], [])
            self._queues[key] = queue
        queue.handlers.append(instrumented(spec.name, handler))
        if self._running:
            self._start_workers(queue, handler)

    def serve(self, endpoint: str, handler: RpcHandler) -> None:
        self._rpc_handlers[endpoint] = handler
        self._rpc.setdefault(endpoint, asyncio.Queue())
        if self._running:
            self._start_rpc_workers(endpoint, handler)

    async def request(self, endpoint: str, body: bytes, *, timeout: float) -> bytes:
        reply: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        # Like RabbitMQ: a request to an endpoint nobody serves goes nowhere and times out.
        if endpoint in self._rpc:
            self._rpc[endpoint].put_nowait((body, reply))
        try:
            return await asyncio.wait_for(reply, timeout)
        except TimeoutError as exc:
            raise RpcTimeout(f"{endpoint} did not answer within {timeout}s") from exc

    async def start(self) -> None:
        self._running = True
        for queue in self._queues.values():
            for handler in queue.handlers:
                self._start_workers(queue, handler)
        for endpoint, rpc_handler in self._rpc_handlers.items():
            self._start_rpc_workers(endpoint, rpc_handler)

    async def stop(self) -> None:
        self._running = False
        # Cancel until every worker has ended: Python 3.11's wait_for can swallow a
        # cancellation that arrives as its own timeout fires (a handler in an RPC call at
        # that moment carries on), and waiting once for it hung a test's teardown.
        pending = set(self._tasks)
        while pending:
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=1)
        self._tasks.clear()

    async def ping(self) -> bool:
        return self._running

    async def dead_letters(self, queue: str) -> list[Delivery]:
        return [d for key, q in self._queues.items() if q.spec.name == queue for d in q.dead]

    async def replay_dead_letters(self, queue: str, *, message_id: str | None = None) -> int:
        replayed = 0
        for q in self._queues.values():
            if q.spec.name == queue:
                chosen = [d for d in q.dead if message_id is None or d.message_id == message_id]
                for delivery in chosen:
                    q.dead.remove(delivery)
                    q.items.put_nowait(replace(delivery, attempt=1))
                    replayed += 1
        return replayed

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _start_workers(self, queue: _Queue, handler: Handler) -> None:
        for _ in range(queue.spec.prefetch or self.prefetch):
            self._spawn(self._work(queue, handler))

    def _start_rpc_workers(self, endpoint: str, handler: RpcHandler) -> None:
        for _ in range(self.prefetch):
            self._spawn(self._answer(self._rpc[endpoint], handler))

    async def _work(self, queue: _Queue, handler: Handler) -> None:
        limit = queue.spec.max_deliveries or self.max_deliveries
        while True:
            delivery = await queue.items.get()
            token = correlation_id_var.set(delivery.correlation_id)
            try:
                await self.handle(queue.spec, handler, delivery)
            except Exception:
                if delivery.attempt >= limit:
                    log.exception("dead-lettered %s after %d attempts", queue.spec.name, limit)
                    DEAD_LETTERED.labels(queue.spec.name).inc()
                    queue.dead.append(delivery)
                else:
                    log.warning("handler failed, retrying", exc_info=True)
                    self._spawn(self._redeliver(queue, delivery))
            finally:
                correlation_id_var.reset(token)

    async def _redeliver(self, queue: _Queue, delivery: Delivery) -> None:
        await asyncio.sleep(retry_delay_s(delivery.attempt))
        queue.items.put_nowait(replace(delivery, attempt=delivery.attempt + 1))

    async def _answer(
        self, requests: asyncio.Queue[tuple[bytes, asyncio.Future[bytes]]], handler: RpcHandler
    ) -> None:
        while True:
            body, reply = await requests.get()
            if reply.done():  # the caller gave up already
                continue
            try:
                with self.requests_first.serving():
                    result = await handler(body)
            except Exception as exc:  # the handler owns its error replies; this is a bug
                log.exception("rpc handler crashed")
                if not reply.done():
                    reply.set_exception(exc)
                continue
            if not reply.done():
                reply.set_result(result)
