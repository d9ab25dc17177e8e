"""Every queue and endpoint on the broker, declared in one place.

Routing keys are event names (`lead.created`). Each durable queue belongs to one
service and is shared by its replicas; realtime's queue is per replica.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from leadflow.bus.base import Delivery, Handler, QueueSpec

EVENTS_EXCHANGE = "leadflow.events"
DEAD_LETTER_EXCHANGE = "leadflow.dlx"

# request/reply endpoints
LEADS_RPC = "leads"
ASSIGNMENT_RPC = "assignment"

# queues
LEADS_PIPELINE = QueueSpec("leads.pipeline", bindings=("lead.classified", "assignment.decided"))
LEADS_LIVIA = QueueSpec("leads.livia", bindings=("whatsapp.message_received", "livia.turn_decided"))
AI_CLASSIFY = QueueSpec("ai.classify", bindings=("lead.created",))
ASSIGNMENT_REQUESTS = QueueSpec(
    "assignment.requests",
    bindings=(
        "lead.assignment_requested",
        "consultant.saved",
        "lead.created",
        "lead.updated",
        "lead.assigned",
    ),
)
REALTIME_FANOUT = QueueSpec(
    "realtime.fanout",
    bindings=(
        "lead.created",
        "lead.updated",
        "lead.assigned",
        "whatsapp.message_received",
        "whatsapp.message_status_changed",
        "whatsapp.session_status_changed",
        "livia.stage_changed",
    ),
    per_replica=True,
)


def by_routing_key(handlers: dict[str, Callable[[Delivery], Awaitable[None]]]) -> Handler:
    """One queue handler that dispatches each delivery on its routing key."""

    async def dispatch(delivery: Delivery) -> None:
        handler = handlers.get(delivery.routing_key)
        if handler is None:
            raise LookupError(f"no handler for routing key {delivery.routing_key!r}")
        await handler(delivery)

    return dispatch


ALL_QUEUES = (LEADS_PIPELINE, LEADS_LIVIA, AI_CLASSIFY, ASSIGNMENT_REQUESTS, REALTIME_FANOUT)
ALL_ENDPOINTS = (LEADS_RPC, ASSIGNMENT_RPC)
