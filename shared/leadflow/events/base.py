"""The event envelope every message carries, and the registry of event types."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from leadflow.logs import current_correlation_id

EVENT_TYPES: dict[str, type[Event]] = {}
EVENT_ID_NAMESPACE = uuid.UUID("6f1c3c1e-6a8b-4f7e-9d55-1f0c2b6c9a10")


def utcnow() -> datetime:
    return datetime.now(UTC)


def derived_event_id(cause_event_id: str, name: str) -> str:
    """A deterministic id for the event caused by another one.

    A stateless consumer that handles a redelivered event produces the same event id
    again, so the idempotent consumer downstream ignores the repeat.
    """
    return uuid.uuid5(EVENT_ID_NAMESPACE, f"{cause_event_id}:{name}").hex


class Event(BaseModel):
    """Envelope fields shared by every event and command on the broker."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: ClassVar[str]
    version: int = Field(1, description="schema version; a breaking change bumps it")
    event_id: str = Field(
        default_factory=lambda: uuid.uuid4().hex, description="unique id, for idempotency"
    )
    occurred_at: datetime = Field(default_factory=utcnow, description="when it happened")
    correlation_id: str = Field(
        default_factory=current_correlation_id,
        description="id of the request or message that started this chain of work",
    )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:
            EVENT_TYPES[cls.name] = cls


def parse_event(routing_key: str, body: bytes) -> Event:
    """Decode a message body into the event type its routing key names."""
    try:
        event_type = EVENT_TYPES[routing_key]
    except KeyError as exc:
        raise UnknownEvent(routing_key) from exc
    return event_type.model_validate_json(body)


class UnknownEvent(ValueError):
    """A routing key with no event schema behind it."""
