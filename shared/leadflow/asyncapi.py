"""The AsyncAPI 3.0 document of the broker, generated from the event schemas and topology."""

from __future__ import annotations

from typing import Any

from leadflow.bus.base import topic_matches
from leadflow.bus.topology import ALL_QUEUES, EVENTS_EXCHANGE
from leadflow.events import EVENT_TYPES

CONTENT_TYPE = "application/vnd.leadflow+json"


def asyncapi_document(version: str = "0.1.0") -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    for routing_key, model in sorted(EVENT_TYPES.items()):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
        summary = (model.__doc__ or "").strip().splitlines()[0] if model.__doc__ else routing_key
        messages[model.__name__] = {
            "name": routing_key,
            "title": model.__name__,
            "summary": summary,
            "contentType": CONTENT_TYPE,
            "payload": {"$ref": f"#/components/schemas/{model.__name__}"},
        }
        channels[routing_key] = {
            "address": routing_key,
            "description": f"routing key `{routing_key}` on the topic exchange `{EVENTS_EXCHANGE}`",
            "messages": {model.__name__: {"$ref": f"#/components/messages/{model.__name__}"}},
        }
    operations: dict[str, Any] = {}
    for queue in ALL_QUEUES:
        for routing_key in sorted(EVENT_TYPES):
            if any(topic_matches(pattern, routing_key) for pattern in queue.bindings):
                operations[f"{queue.name}:{routing_key}"] = {
                    "action": "receive",
                    "channel": {"$ref": f"#/channels/{routing_key}"},
                    "summary": f"queue `{queue.name}`"
                    + (" (one per replica)" if queue.per_replica else " (shared by replicas)"),
                }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "leadflow events",
            "version": version,
            "description": "Every event and command on the broker. Envelope fields "
            "(event_id, occurred_at, correlation_id, version) are on every message.",
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "rabbitmq": {
                "host": "rabbitmq:5672",
                "pathname": "/",
                "protocol": "amqp",
                "protocolVersion": "0.9.1",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }
