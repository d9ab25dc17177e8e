"""RabbitMQ through FastStream: quorum queues, publisher confirms, DLQs, fast RPC.

Topology (names prefixed by BROKER_NAMESPACE):
- `leadflow.events` (topic): every event and command, routing key = its name.
- `leadflow.dlx` (direct): where a queue's rejected messages go, routed by queue name
  to `<queue>.dlq`, a durable queue an operator can inspect and replay.
- `rpc.<endpoint>`: one (quorum) queue per request/reply endpoint on the default exchange.
  A broker that still has one as a classic queue refuses the declaration: delete it once.

Requests use RabbitMQ's direct reply-to with one long-lived consumer and a future per
correlation id, because FastStream's `broker.request` serialises all requests of a
broker behind one lock (~550 req/s whatever the concurrency).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any, cast

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractRobustConnection
from faststream import AckPolicy
from faststream.rabbit import (
    Channel,
    ExchangeType,
    QueueType,
    RabbitBroker,
    RabbitExchange,
    RabbitMessage,
    RabbitQueue,
)

from leadflow.bus.addresses import RECONNECT_INTERVAL_S, broker_addresses, connection_options
from leadflow.bus.base import (
    Bus,
    Delivery,
    Handler,
    QueueSpec,
    RpcHandler,
    RpcTimeout,
    retry_delay_s,
)
from leadflow.bus.metrics import (
    DEAD_LETTERED,
    DEAD_LETTERS,
    PUBLISHED,
    QUEUE_READY,
    instrumented,
)
from leadflow.bus.topology import DEAD_LETTER_EXCHANGE, EVENTS_EXCHANGE
from leadflow.logs import correlation_id_var
from leadflow.periodic import Periodic

log = logging.getLogger(__name__)

DIRECT_REPLY_TO = "amq.rabbitmq.reply-to"
# A JSON media type FastStream does not recognise, so it hands handlers the raw bytes
# instead of parsing every body once more (our handlers parse into typed events).
CONTENT_TYPE = "application/vnd.leadflow+json"
# The routing key of a replayed dead letter, sent to its queue through the default exchange.
REPLAYED_ROUTING_KEY = "leadflow-routing-key"
# How often each service measures its queues on the broker (for the alert rules).
QUEUE_GAUGE_INTERVAL_S = 15.0


async def _the_message(message: RabbitMessage) -> RabbitMessage:
    """FastStream decoder handing a handler the message itself, body undecoded."""
    return message


class RabbitBus(Bus):
    """The production bus."""

    def __init__(
        self,
        url: str,
        *,
        namespace: str = "",
        prefetch: int = 32,
        max_deliveries: int = 5,
        graceful_timeout: float = 20.0,
        outage_retry_s: float = 60.0,
    ) -> None:
        super().__init__(
            prefetch=prefetch, max_deliveries=max_deliveries, outage_retry_s=outage_retry_s
        )
        # One address, or the nodes of a cluster, comma-separated (see `bus.addresses`).
        self.addresses = broker_addresses(url)
        self.url = self.addresses[0]
        self.graceful_timeout = graceful_timeout
        self.namespace = namespace
        self.broker = RabbitBroker(
            self.url,
            default_channel=Channel(prefetch_count=prefetch),
            graceful_timeout=graceful_timeout,
            reconnect_interval=RECONNECT_INTERVAL_S,
            on_reconnected=[self._broker_reconnected],
            # Per message, FastDepends' injection (a task group and a worker-thread hop)
            # and the logging middleware cost ~0.5 ms of CPU: 700-800 µs a delivery with
            # them, ~200 µs without (measured; aio-pika alone ~130 µs). Handlers take the
            # message itself (see `_the_message`) and log their own failures.
            apply_types=False,
            logger=None,
        )
        # FastStream hands these to `aio_pika.connect_robust`: the connection fails over.
        self.broker._connection_kwargs.update(connection_options(self.addresses))
        self.events = RabbitExchange(f"{namespace}{EVENTS_EXCHANGE}", type=ExchangeType.TOPIC)
        self.dlx = RabbitExchange(f"{namespace}{DEAD_LETTER_EXCHANGE}", type=ExchangeType.DIRECT)
        self._extra_bindings: list[tuple[RabbitQueue, str]] = []
        self._dlqs: list[RabbitQueue] = []
        self._rpc_connection: AbstractRobustConnection | None = None
        self._rpc_channel: AbstractChannel | None = None
        self._pending: dict[str, asyncio.Future[bytes]] = {}
        self._rpc_servers: list[tuple[str, RpcHandler]] = []
        self._rpc_consumers: list[tuple[Any, str]] = []
        self._in_flight: set[asyncio.Task[Any]] = set()
        self._rpc_lock = asyncio.Lock()
        self._gauges = Periodic("broker-queue-gauges", QUEUE_GAUGE_INTERVAL_S, self.measure_queues)

    async def _broker_reconnected(self, _connection: Any) -> None:
        log.warning("broker connection re-established")
        await self._reconnected()

    async def connect(self) -> AbstractRobustConnection:
        """A connection of its own, over every broker address (operator commands)."""
        connection = await aio_pika.connect_robust(**connection_options(self.addresses))
        return cast(AbstractRobustConnection, connection)

    def queue_name(self, name: str) -> str:
        return f"{self.namespace}{name}"

    async def send(self, message: Delivery) -> None:
        PUBLISHED.labels("event").inc()
        await self.broker.publish(
            message.body,
            exchange=self.events,
            routing_key=message.routing_key,
            persist=True,
            message_id=message.message_id,
            correlation_id=message.correlation_id,
            headers=message.headers,
            content_type=CONTENT_TYPE,
        )

    def consume(self, spec: QueueSpec, handler: Handler) -> None:
        limit = spec.max_deliveries or self.max_deliveries
        handler = instrumented(spec.name, handler)
        if spec.per_replica:
            queue = RabbitQueue(
                self.queue_name(f"{spec.name}.{uuid.uuid4().hex[:12]}"),
                durable=False,
                exclusive=True,
                auto_delete=True,
                routing_key=spec.bindings[0],
            )
        else:
            name = self.queue_name(spec.name)
            queue = RabbitQueue(
                name,
                queue_type=QueueType.QUORUM,
                durable=True,
                routing_key=spec.bindings[0],
                arguments={
                    "x-dead-letter-exchange": self.dlx.name,
                    "x-dead-letter-routing-key": name,
                    # A safety net under our own count: nothing loops forever.
                    "x-delivery-limit": limit + 1,
                },
            )
            self._dlqs.append(
                RabbitQueue(f"{name}.dlq", queue_type=QueueType.QUORUM, routing_key=name)
            )
        self._extra_bindings += [(queue, key) for key in spec.bindings[1:]]

        async def on_message(msg: RabbitMessage) -> None:
            raw: AbstractIncomingMessage = msg.raw_message
            # Quorum queues count earlier deliveries in `x-delivery-count`.
            attempt = int(str((raw.headers or {}).get("x-delivery-count") or 0)) + 1
            delivery = Delivery(
                # A replayed dead letter comes through the default exchange, with its
                # event's routing key in a header.
                routing_key=str(
                    (raw.headers or {}).get(REPLAYED_ROUTING_KEY) or raw.routing_key or ""
                ),
                body=raw.body,
                message_id=raw.message_id,
                correlation_id=raw.correlation_id,
                headers=dict(raw.headers or {}),
                attempt=attempt,
            )
            token = correlation_id_var.set(raw.correlation_id)
            try:
                await self.handle(spec, handler, delivery)
            except Exception:
                if attempt >= limit or spec.per_replica:
                    log.exception("dead-lettering %s after %d attempts", queue.name, attempt)
                    DEAD_LETTERED.labels(spec.name).inc()
                    await msg.reject(requeue=False)
                else:
                    log.warning("handler failed (attempt %d), will retry", attempt, exc_info=True)
                    await asyncio.sleep(retry_delay_s(attempt))
                    await msg.nack(requeue=True)
            else:
                await msg.ack()
            finally:
                correlation_id_var.reset(token)

        channel = Channel(prefetch_count=spec.prefetch) if spec.prefetch else None
        self.broker.subscriber(
            queue,
            self.events,
            ack_policy=AckPolicy.MANUAL,
            channel=channel,
            decoder=_the_message,
        )(on_message)

    def serve(self, endpoint: str, handler: RpcHandler) -> None:
        # Served with aio-pika directly: FastStream's per-message machinery capped
        # request/reply at ~1,000/s per process, and it adds nothing to this path.
        self._rpc_servers.append((self.queue_name(f"rpc.{endpoint}"), handler))

    async def _serve_requests(self, queue_name: str, handler: RpcHandler) -> None:
        channel = await (await self._rpc_connection_()).channel(publisher_confirms=False)
        await channel.set_qos(prefetch_count=self.prefetch)
        queue = await channel.declare_queue(
            # Quorum, like every queue: a classic queue lives on one node, and while that
            # node is down it can be neither used nor declared again on another, so no
            # server could reconnect to a cluster that lost it.
            queue_name,
            durable=True,
            arguments={"x-queue-type": "quorum"},
        )

        async def on_request(message: AbstractIncomingMessage) -> None:
            task = asyncio.current_task()
            if task is not None:
                self._in_flight.add(task)
            token = correlation_id_var.set(message.correlation_id)
            try:
                with self.requests_first.serving():
                    result = await handler(message.body)
                    if message.reply_to:
                        await self._reply(message.reply_to, message.correlation_id, result)
            finally:
                correlation_id_var.reset(token)
                await message.ack()
                if task is not None:
                    self._in_flight.discard(task)

        tag = await queue.consume(on_request)
        self._rpc_consumers.append((queue, tag))

    async def request(self, endpoint: str, body: bytes, *, timeout: float) -> bytes:
        correlation_id = uuid.uuid4().hex
        reply: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._pending[correlation_id] = reply
        try:
            # The deadline covers getting a channel and publishing too: while the broker
            # is unreachable those wait for a reconnection that may not come in time.
            async with asyncio.timeout(timeout):
                return await self._request(endpoint, body, correlation_id, reply, timeout)
        except TimeoutError as exc:
            raise RpcTimeout(f"{endpoint} did not answer within {timeout}s") from exc
        finally:
            self._pending.pop(correlation_id, None)

    async def _request(
        self,
        endpoint: str,
        body: bytes,
        correlation_id: str,
        reply: asyncio.Future[bytes],
        timeout: float,
    ) -> bytes:
        channel = await self._reply_channel()
        PUBLISHED.labels("request").inc()
        await channel.default_exchange.publish(
            aio_pika.Message(
                body,
                correlation_id=correlation_id,
                reply_to=DIRECT_REPLY_TO,
                content_type=CONTENT_TYPE,
                # A request nobody picked up in time is worthless: let it expire.
                expiration=timeout,
            ),
            routing_key=self.queue_name(f"rpc.{endpoint}"),
            # Without publisher confirms a returned request reaches nobody (aiormq only
            # logs it); a request with no server yet ends in RpcTimeout either way.
            mandatory=False,
        )
        return await reply

    async def _reply(self, reply_to: str, correlation_id: str | None, body: bytes) -> None:
        """Answer on a channel without publisher confirms: a reply that is lost, or late,
        is worth nothing anyway, since its caller gives up at its deadline."""
        channel = await self._reply_channel()
        PUBLISHED.labels("reply").inc()
        await channel.default_exchange.publish(
            aio_pika.Message(body, correlation_id=correlation_id, content_type=CONTENT_TYPE),
            routing_key=reply_to,
            mandatory=False,
        )

    async def _rpc_connection_(self) -> AbstractRobustConnection:
        if self._rpc_connection is None:
            self._rpc_connection = await self.connect()
        return self._rpc_connection

    async def _reply_channel(self) -> AbstractChannel:
        if self._rpc_channel is not None and not self._rpc_channel.is_closed:
            return self._rpc_channel
        async with self._rpc_lock:
            if self._rpc_channel is None or self._rpc_channel.is_closed:
                connection = await self._rpc_connection_()
                channel = await connection.channel(publisher_confirms=False)
                replies = await channel.declare_queue(DIRECT_REPLY_TO, passive=True)
                await replies.consume(self._on_reply, no_ack=True)
                self._rpc_channel = channel
        return self._rpc_channel

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        future = self._pending.get(message.correlation_id or "")
        if future is not None and not future.done():
            future.set_result(message.body)

    async def start(self) -> None:
        await self.broker.connect()
        events = await self.broker.declare_exchange(self.events)
        dlx = await self.broker.declare_exchange(self.dlx)
        for dlq in self._dlqs:
            declared = await self.broker.declare_queue(dlq)
            await declared.bind(dlx, dlq.name.removesuffix(".dlq"))
        await self.broker.start()
        for queue_name, handler in self._rpc_servers:
            await self._serve_requests(queue_name, handler)
        for queue, key in self._extra_bindings:
            declared = await self.broker.declare_queue(queue)
            await declared.bind(events, key)
        if self._dlqs:
            await self._gauges.start()

    async def measure_queues(self) -> None:
        """Consumer lag and dead letters of this service's queues, as Prometheus gauges."""
        channel = await (await self._rpc_connection_()).channel(publisher_confirms=False)
        try:
            for dlq in self._dlqs:
                name = dlq.name.removesuffix(".dlq")
                label = name.removeprefix(self.namespace)
                waiting = await channel.declare_queue(name, passive=True)
                QUEUE_READY.labels(label).set(waiting.declaration_result.message_count or 0)
                dead = await channel.declare_queue(dlq.name, passive=True)
                DEAD_LETTERS.labels(label).set(dead.declaration_result.message_count or 0)
        finally:
            with contextlib.suppress(Exception):
                await channel.close()

    async def stop(self) -> None:
        await self._gauges.stop()
        # Stop taking requests, let those in flight answer, then stop consuming events.
        for queue, tag in self._rpc_consumers:
            with contextlib.suppress(Exception):
                await queue.cancel(tag)
        if self._in_flight:
            await asyncio.wait(self._in_flight, timeout=self.graceful_timeout)
        await self.broker.stop()
        if self._rpc_connection is not None:
            await self._rpc_connection.close()
            self._rpc_connection = None
            self._rpc_channel = None

    async def ping(self) -> bool:
        return bool(await self.broker.ping(timeout=2.0))

    async def replay_dead_letters(self, queue: str, *, message_id: str | None = None) -> int:
        """Send `queue`'s dead letters (or only the one with `message_id`) back to that
        queue alone, with their routing keys; returns how many."""
        connection = await self.connect()
        replayed = 0
        try:
            channel = await connection.channel(publisher_confirms=True)
            dlq = await channel.declare_queue(f"{self.queue_name(queue)}.dlq", passive=True)
            # Each message once: skipped ones stay unacknowledged until the channel closes.
            for _ in range(dlq.declaration_result.message_count or 0):
                message = await dlq.get(no_ack=False, fail=False)
                if message is None:
                    break
                if message_id is not None and message.message_id != message_id:
                    continue
                headers: dict[str, Any] = {
                    k: v for k, v in (message.headers or {}).items() if not k.startswith("x-")
                }
                headers[REPLAYED_ROUTING_KEY] = _original_routing_key(message)
                # To the queue itself, not the exchange: the other services' queues bound
                # to the same event handled it already.
                await channel.default_exchange.publish(
                    aio_pika.Message(
                        message.body,
                        headers=headers,
                        message_id=message.message_id,
                        correlation_id=message.correlation_id,
                        content_type=message.content_type,
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    ),
                    routing_key=self.queue_name(queue),
                )
                await message.ack()
                replayed += 1
            await channel.close()  # returns the skipped ones to the DLQ
            return replayed
        finally:
            await connection.close()

    async def dead_letter_count(self, queue: str) -> int | None:
        """How many messages `queue`'s DLQ holds; None if it has none (never declared)."""
        connection = await self.connect()
        try:
            channel = await connection.channel()
            try:
                dlq = await channel.declare_queue(f"{self.queue_name(queue)}.dlq", passive=True)
            except aio_pika.exceptions.ChannelClosed:
                return None
            return int(dlq.declaration_result.message_count or 0)
        finally:
            await connection.close()

    async def dead_letters(self, queue: str) -> list[Delivery]:
        """Peek at a DLQ without consuming it (every message is returned to it)."""
        connection = await self.connect()
        try:
            channel = await connection.channel()
            dlq = await channel.declare_queue(f"{self.queue_name(queue)}.dlq", passive=True)
            found: list[Delivery] = []
            while (message := await dlq.get(no_ack=False, fail=False)) is not None:
                found.append(
                    Delivery(
                        routing_key=_original_routing_key(message),
                        body=message.body,
                        message_id=message.message_id,
                        correlation_id=message.correlation_id,
                        headers=dict(message.headers or {}),
                    )
                )
            await channel.close()  # closing without ack returns them all to the DLQ
            return found
        finally:
            await connection.close()


def _original_routing_key(message: AbstractIncomingMessage) -> str:
    """Dead-lettering rewrites the routing key; RabbitMQ keeps the original in x-death
    (and a replayed message carries it in a header of ours)."""
    replayed = (message.headers or {}).get(REPLAYED_ROUTING_KEY)
    if replayed:
        return str(replayed)
    deaths = (message.headers or {}).get("x-death") or []
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict):
        keys = deaths[0].get("routing-keys") or []
        if isinstance(keys, list) and keys:
            return str(keys[0])
    return message.routing_key or ""
