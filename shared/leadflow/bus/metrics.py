"""Prometheus metrics of message handling, the same for both buses."""

from __future__ import annotations

import time

from prometheus_client import Counter, Gauge, Histogram

from leadflow.bus.base import Delivery, Handler

HANDLED = Counter(
    "leadflow_messages_handled_total",
    "messages handled, by queue and outcome",
    ["queue", "outcome"],
)
LATENCY = Histogram(
    "leadflow_message_handler_seconds",
    "time spent handling one message",
    ["queue"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
PUBLISHED = Counter(
    "leadflow_messages_published_total",
    "messages sent to the broker: events and commands, RPC requests, RPC replies",
    ["kind"],
)
DEAD_LETTERED = Counter(
    "leadflow_messages_dead_lettered_total", "messages sent to a dead-letter queue", ["queue"]
)
# Measured on the broker every few seconds by each service, for its own queues.
QUEUE_READY = Gauge(
    "leadflow_queue_ready_messages",
    "messages waiting in a service's queue for a consumer (consumer lag)",
    ["queue"],
)
DEAD_LETTERS = Gauge(
    "leadflow_dead_letters",
    "messages in a queue's dead-letter queue, waiting for an operator",
    ["queue"],
)


def instrumented(queue: str, handler: Handler) -> Handler:
    """Count and time every delivery of `queue`."""

    async def handle(delivery: Delivery) -> None:
        started = time.perf_counter()
        try:
            await handler(delivery)
        except Exception:
            HANDLED.labels(queue, "failed").inc()
            raise
        finally:
            LATENCY.labels(queue).observe(time.perf_counter() - started)
        HANDLED.labels(queue, "ok").inc()

    return handle
