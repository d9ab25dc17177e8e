"""Every queue and endpoint on the broker, declared in one place.

Routing keys are event names (`lead.created`). Each durable queue belongs to one
service and is shared by its replicas; realtime's queue is per replica.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from leadflow.bus.base import Delivery, Handler, QueueSpec
from leadflow.events.base import Event
from leadflow.events.whatsapp import SEND_COMMANDS, SessionName

EVENTS_EXCHANGE = "leadflow.events"
DEAD_LETTER_EXCHANGE = "leadflow.dlx"

# request/reply endpoints
LEADS_RPC = "leads"
ASSIGNMENT_RPC = "assignment"
AI_RPC = "ai"  # speech-to-text (leadflow.events.speech)

# queues
# leads takes every lead in (create_lead): its own events wait while it serves requests,
# and a few at a time, so a backlog of them never holds the pool intake needs (issue 19).
LEADS_PIPELINE = QueueSpec(
    "leads.pipeline",
    bindings=("lead.classified", "assignment.decided"),
    prefetch=8,
    yields_to_requests=True,
)
LEADS_LIVIA = QueueSpec(
    "leads.livia",
    bindings=("livia.lead_qualified", "livia.paused", "livia.resumed"),
    prefetch=8,
    yields_to_requests=True,
)
WA_LIVIA_CONVERSATIONS = QueueSpec(
    "wa.livia.conversations",
    bindings=("whatsapp.message_received", "livia.turn_decided", "lead.assigned"),
)
AI_CLASSIFY = QueueSpec("ai.classify", bindings=("lead.created", "lead.updated"))
AI_LIVIA = QueueSpec("ai.livia", bindings=("livia.turn_requested",))
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
# Presence changes often and matters little: its own queue keeps it off the decisions' path.
ASSIGNMENT_PRESENCE = QueueSpec("assignment.presence", bindings=("presence.snapshot",))
REALTIME_FANOUT = QueueSpec(
    "realtime.fanout",
    bindings=(
        "lead.created",
        "lead.updated",
        "lead.scored",  # only the board shows a classification: bound here alone
        "lead.assigned",
        "whatsapp.message_received",
        "whatsapp.message_status_changed",
        "whatsapp.session_status_changed",
        "livia.stage_changed",
        "consultant.sessions_revoked",
        "livia.lead_waiting",
    ),
    per_replica=True,
)
# Every gateway replica keeps the revoked sessions in memory: its own queue.
GATEWAY_SESSIONS = QueueSpec(
    "gateway.sessions", bindings=("consultant.sessions_revoked",), per_replica=True
)


# wa-consultant's projection of leads and consultants: whose chat is whose.
WA_CONSULTANT_INBOX = QueueSpec(
    "wa.consultant.inbox",
    bindings=("lead.created", "lead.updated", "lead.assigned", "consultant.saved"),
)


def session_send_queue(session: SessionName) -> QueueSpec:
    """Commands to one WhatsApp session, consumed only by its service."""
    return QueueSpec(f"wa.{session.value}.send", (SEND_COMMANDS[session].name,))


def session_endpoint(session: SessionName) -> str:
    return f"wa.{session.value}"


def by_routing_key(handlers: dict[str, Callable[[Delivery], Awaitable[None]]]) -> Handler:
    """One queue handler that dispatches each delivery on its routing key."""

    async def dispatch(delivery: Delivery) -> None:
        handler = handlers.get(delivery.routing_key)
        if handler is None:
            raise LookupError(f"no handler for routing key {delivery.routing_key!r}")
        await handler(delivery)

    return dispatch


E = TypeVar("E", bound=Event)


def on(event_type: type[E], handler: Callable[[E], Awaitable[None]]) -> tuple[str, Handler]:
    """`handler` registered for `event_type`: it is given the delivery's body parsed as
    that type (what mypy checks), never a `Delivery` to narrow by hand."""
    return on_attempts(event_type, lambda event, _attempt: handler(event))


def on_attempts(
    event_type: type[E], handler: Callable[[E, int], Awaitable[None]]
) -> tuple[str, Handler]:
    """As `on`, for a handler that does something else on its last try: it is also given
    which delivery of the message this is (1 for the first)."""

    async def parse_and_handle(delivery: Delivery) -> None:
        await handler(event_type.model_validate_json(delivery.body), delivery.attempt)

    return event_type.name, parse_and_handle


def by_event_type(*routes: tuple[str, Handler]) -> Handler:
    """One queue handler that dispatches each delivery to the handler registered (`on`)
    for its event type."""
    return by_routing_key(dict(routes))


ALL_QUEUES = (
    LEADS_PIPELINE,
    LEADS_LIVIA,
    WA_CONSULTANT_INBOX,
    WA_LIVIA_CONVERSATIONS,
    AI_CLASSIFY,
    AI_LIVIA,
    ASSIGNMENT_REQUESTS,
    ASSIGNMENT_PRESENCE,
    REALTIME_FANOUT,
    GATEWAY_SESSIONS,
    *(session_send_queue(s) for s in SessionName),
)
ALL_ENDPOINTS = (LEADS_RPC, ASSIGNMENT_RPC, AI_RPC, *(session_endpoint(s) for s in SessionName))
