"""The AsyncAPI 3.0 document of the broker, generated from the event schemas and topology."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from leadflow.bus.base import topic_matches
from leadflow.bus.topology import ALL_QUEUES, EVENTS_EXCHANGE
from leadflow.events import EVENT_TYPES
from leadflow.events.frames import CLIENT_FRAMES, SERVER_FRAMES

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
            "servers": [{"$ref": "#/servers/rabbitmq"}],
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
    _add_realtime(schemas, messages, channels, operations)
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "leadflow events",
            "version": version,
            "description": "Every event and command on the broker (envelope fields "
            "event_id, occurred_at, correlation_id and version on every message), and the "
            "frames clients receive over the WebSocket /ws and Server-Sent Events "
            "/api/events (docs/API.md, Realtime).",
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "rabbitmq": {
                "host": "rabbitmq:5672",
                "pathname": "/",
                "protocol": "amqp",
                "protocolVersion": "0.9.1",
            },
            "realtime": {
                "host": "127.0.0.1:8000",
                "pathname": "/",
                "protocol": "ws",
                "description": "make run: the gateway's port; make cluster: REALTIME_PORT "
                "(8001); Compose and Kubernetes: the same host as the API",
            },
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def _schema_of(model: type[BaseModel], schemas: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(schema.pop("$defs", {}))
    schemas[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _add_realtime(
    schemas: dict[str, Any],
    messages: dict[str, Any],
    channels: dict[str, Any],
    operations: dict[str, Any],
) -> None:
    """The client-facing frames: `{"id", "event", "data", "ts"}`, one message per event."""
    frame_keys: list[str] = []
    for event, (room, models, summary) in SERVER_FRAMES.items():
        refs = [_schema_of(model, schemas) for model in models]
        key = "frame." + event.replace(":", ".")
        messages[key] = {
            "name": event,
            "title": event,
            "summary": f"{summary} (room: {room})",
            "contentType": "application/json",
            "payload": {
                "type": "object",
                "required": ["id", "event", "data", "ts"],
                "properties": {
                    "id": {"type": "string", "description": "event id; empty in replies"},
                    "event": {"const": event},
                    "data": refs[0] if len(refs) == 1 else {"oneOf": refs},
                    "ts": {"type": "string", "description": "when it happened; empty in replies"},
                },
            },
        }
        frame_keys.append(key)
    action_keys = []
    for model in CLIENT_FRAMES:
        key = "action." + model.__name__
        messages[key] = {
            "name": model.__name__,
            "title": model.__name__,
            "summary": (model.__doc__ or "").strip(),
            "contentType": "application/json",
            "payload": _schema_of(model, schemas),
        }
        action_keys.append(key)
    for name, address, keys, transport in (
        ("realtime.ws", "/ws", frame_keys + action_keys, "WebSocket, ?token=<access token>"),
        ("realtime.sse", "/api/events", frame_keys, "Server-Sent Events, Bearer token"),
    ):
        channels[name] = {
            "address": address,
            "description": transport,
            "servers": [{"$ref": "#/servers/realtime"}],
            "messages": {key: {"$ref": f"#/components/messages/{key}"} for key in keys},
        }
        operations[f"{name}.frames"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{name}"},
            "summary": "frames to the client",
            "messages": [{"$ref": f"#/channels/{name}/messages/{key}"} for key in frame_keys],
        }
    operations["realtime.ws.actions"] = {
        "action": "receive",
        "channel": {"$ref": "#/channels/realtime.ws"},
        "summary": "what the client may send",
        "messages": [{"$ref": f"#/channels/realtime.ws/messages/{key}"} for key in action_keys],
    }
