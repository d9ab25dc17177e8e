"""Each event id reaches a client once; a replica that lost its feed says so (resync)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from leadflow.auth import AccessClaims
from leadflow.bus import Delivery
from leadflow.events import LeadCreated, Role
from leadflow.testing.factories import a_lead, claims
from realtime.domain import RecentIds
from realtime.handlers import RealtimeHandlers
from realtime.hub import Client, Hub

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def admin(who: str = "root") -> AccessClaims:
    return claims(Role.ADMIN, who)


def lead_created(n: int) -> Delivery:
    event = LeadCreated(lead=a_lead(id=f"lead-{n}", phone=f"+55119111{n:05d}"))
    return Delivery(event.name, event.model_dump_json().encode(), message_id=event.event_id)


def frames(client: Client) -> list[dict[str, object]]:
    return [json.loads(text) for text in client.take()]


async def test_an_event_delivered_twice_reaches_each_client_once() -> None:
    hub = Hub()
    handlers = RealtimeHandlers(hub, "secret")
    first, second = (hub.connect(admin(w), "ws", ["kanban"]) for w in ("a", "b"))
    deliveries = [lead_created(n) for n in range(3)]
    # The outbox relay published a batch again after a crash: every event comes twice.
    for delivery in deliveries + deliveries[1:]:
        await handlers.on_event(delivery)
    for client in (first, second):
        ids = [frame["id"] for frame in frames(client)]
        assert ids == [d.message_id for d in deliveries]


def test_recent_ids_are_bounded() -> None:
    recent = RecentIds(capacity=3)
    assert all(recent.first_time(i) for i in ("a", "b", "c", "d"))
    assert not recent.first_time("d")
    assert len(recent.ids) == 3 and recent.first_time("a")  # "a" was forgotten


async def test_a_lost_feed_tells_every_client_to_resync_and_voids_the_replay() -> None:
    hub = Hub()
    handlers = RealtimeHandlers(hub, "secret")
    watching = hub.connect(admin("a"), "ws", ["kanban"])
    before = lead_created(1)
    await handlers.on_event(before)
    frames(watching)

    hub.feed_interrupted()  # the broker connection came back: the queue was lost with it

    [resync] = frames(watching)
    assert resync["event"] == "resync"
    # A client resuming from before the gap cannot be replayed a partial history.
    resuming = hub.connect(admin("b"), "ws", ["kanban"])
    hub.replay(resuming, str(before.message_id))
    assert [frame["event"] for frame in frames(resuming)] == ["resync"]
