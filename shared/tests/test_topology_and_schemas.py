"""The broker's declared topology and the event schemas agree with each other."""

from leadflow.asyncapi import asyncapi_document
from leadflow.bus import topic_matches
from leadflow.bus.topology import ALL_QUEUES
from leadflow.events import EVENT_TYPES, Event


def test_every_queue_binding_matches_at_least_one_known_event() -> None:
    for queue in ALL_QUEUES:
        for pattern in queue.bindings:
            assert any(topic_matches(pattern, name) for name in EVENT_TYPES), (queue.name, pattern)


def test_every_event_carries_the_envelope() -> None:
    for name, model in EVENT_TYPES.items():
        assert issubclass(model, Event) and model.name == name
        assert {"event_id", "occurred_at", "correlation_id", "version"} <= set(model.model_fields)


def test_a_classification_of_a_lead_reaches_only_the_board() -> None:
    # Issue 19: ai, assignment and wa-consultant keep nothing of a score, so lead.scored
    # (not lead.updated) carries it, and only realtime's queue receives it.
    receiving = {
        queue.name
        for queue in ALL_QUEUES
        if any(topic_matches(pattern, "lead.scored") for pattern in queue.bindings)
    }
    assert receiving == {"realtime.fanout"}


def test_the_asyncapi_document_describes_every_event_and_who_receives_it() -> None:
    document = asyncapi_document()
    assert document["asyncapi"] == "3.0.0"
    # Every broker event, and the two realtime channels clients receive frames on.
    assert set(document["channels"]) == set(EVENT_TYPES) | {"realtime.ws", "realtime.sse"}
    received = {
        op["channel"]["$ref"].removeprefix("#/channels/") for op in document["operations"].values()
    }
    assert {"lead.created", "lead.classified", "assignment.decided"} <= received
    payload = document["components"]["schemas"]["LeadCreated"]
    assert "lead" in payload["properties"] and "event_id" in payload["properties"]
