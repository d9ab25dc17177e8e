"""The OpenAPI document as clients use it: named response models, errors as the API answers.

The response models here describe what the services already send (CONTRACT.md); routes
declare them for the document only (`responses=`), so no response is re-validated or
trimmed on its way out, and a field added by a service reaches clients at once.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal, cast

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from faststream.specification.asyncapi.site import get_asyncapi_html
from leadflow.events import ConsultantView, LeadView, SessionName, SessionStatus
from pydantic import BaseModel, Field

# --- errors -------------------------------------------------------------------------

ErrorCode = Literal[
    "validation_error",
    "unauthorized",
    "forbidden",
    "not_found",
    "method_not_allowed",
    "conflict",
    "payload_too_large",
    "rate_limited",
    "unavailable",
    "internal_error",
]

WHEN = {
    400: "The body, query or a header fails the schema; `details` names each field.",
    401: "Missing, expired, revoked or malformed token; bad credentials.",
    403: "Authenticated, but the role or ownership does not allow it.",
    404: "Unknown id, or something the caller may not see.",
    405: "A known path with a method it does not take; `Allow` lists those it does.",
    409: "Duplicate, or a stale `version` (the current object is in `details`).",
    413: "Body over 1 MiB.",
    429: "Rate limit exceeded; retry after `Retry-After` seconds.",
    503: "A backing service did not answer in time; nothing was half-written. "
    "Retry after `Retry-After` seconds.",
}
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}


class ErrorBody(BaseModel):
    code: ErrorCode = Field(description="for programs; one per status (500: internal_error)")
    message: str = Field(description="for people; the field name first for a 400")
    details: Any | None = Field(None, description="per-field errors (400), current object (409)")


class ErrorResponse(BaseModel):
    """Every error of every endpoint has this one shape."""

    error: ErrorBody


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The error responses a route can really return (tests/integration/test_openapi.py
    exercises every one)."""
    documented: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        response: dict[str, Any] = {"model": ErrorResponse, "description": WHEN[status]}
        if status in (429, 503):
            response["headers"] = RETRY_AFTER
        documented[status] = response
    return documented


def doc(
    status: int,
    body: type[BaseModel] | dict[str, Any] | None,
    description: str,
    *,
    errors: tuple[int, ...],
) -> dict[str, Any]:
    """Decorator arguments documenting a route: its success body and its errors.

    `body` is a model, a content map (an image), or None for an empty response.
    """
    success: dict[str, Any] = {"description": description}
    if isinstance(body, dict):
        success["content"] = body
    elif body is not None:
        success["model"] = body
    return {
        "response_model": None,
        "response_description": description,
        "responses": {status: success, **error_responses(*errors)},
    }


# --- responses ------------------------------------------------------------------------


class Lead(LeadView):
    """The lead object of CONTRACT.md."""


class Consultant(ConsultantView):
    """A consultant; never the password or its hash."""


class TokenPair(BaseModel):
    access_token: str = Field(description="send as `Authorization: Bearer <access_token>`")
    refresh_token: str = Field(description="spent by one use of /api/auth/refresh")
    token_type: Literal["bearer"]
    expires_in: int = Field(description="seconds the access token is valid")


class LeadEnvelope(BaseModel):
    data: Lead


class LeadPage(BaseModel):
    data: list[Lead]
    page: int
    page_size: int
    total: int = Field(description="leads matching the query, over every page")


class Interaction(BaseModel):
    """One entry of a lead's audit trail: who changed what, before and after."""

    id: str
    kind: str
    actor_id: str | None
    changes: dict[str, Any] = Field(description='`{"field": {"before": x, "after": y}}`')
    created_at: datetime


class ConversationLine(BaseModel):
    direction: Literal["in", "out"]
    author: str = Field(description="lead, livia, or human (a person on Lívia's phone)")
    text: str = Field(description="the text; for a voice note, what it said when heard")
    media_type: str | None = Field(None, description="`audio` for a voice note")
    transcript: str | None = Field(None, description="a voice note's transcript, if heard")
    timestamp: datetime


class Conversation(BaseModel):
    """Lívia's conversation with the lead."""

    id: str
    stage: str = Field(description="INTRO, QUALIFICATION, SIMULATION, CONVERSION, TRANSFERRED")
    collected: dict[str, Any] = Field(description="full_name, asset_type, asset_value, ...")
    paused: bool = Field(description="a person answered from Lívia's phone")
    chat_jid: str | None = None
    messages: list[ConversationLine]


class ConversationEnvelope(BaseModel):
    data: Conversation


class LeadDetail(BaseModel):
    data: Lead
    interactions: list[Interaction] = Field(description="the newest 50")
    conversation: Conversation | None
    conversation_unavailable: bool = Field(
        False, description="true when Lívia's service did not answer: the conversation is unknown"
    )


class CreatedLeadId(BaseModel):
    id: str


class AcceptedLead(BaseModel):
    data: CreatedLeadId


class ConsultantEnvelope(BaseModel):
    data: Consultant


class ConsultantList(BaseModel):
    data: list[Consultant]


class ConsultantStats(BaseModel):
    consultant_id: str
    assigned_total: int
    open: int
    won: int
    lost: int
    last_assigned_at: datetime | None


class ConsultantStatsEnvelope(BaseModel):
    data: ConsultantStats


class WhatsAppSession(BaseModel):
    name: SessionName
    status: SessionStatus
    phone: str | None = None
    since: datetime | None = None


class WhatsAppSessionList(BaseModel):
    data: list[WhatsAppSession]


class WhatsAppSessionEnvelope(BaseModel):
    data: WhatsAppSession


class PairingCode(BaseModel):
    qr: str = Field(description="the code to show as a QR (or use qr.svg)")
    expires_at: datetime | None


class PairingCodeEnvelope(BaseModel):
    data: PairingCode


class Chat(BaseModel):
    id: str = Field(description="the chat's jid")
    name: str
    phone: str
    last_message: str | None
    timestamp: datetime | None
    unread_count: int
    lead_id: str | None = None


class ChatList(BaseModel):
    data: list[Chat]


class ChatMessage(BaseModel):
    id: str
    direction: Literal["in", "out"]
    text: str = Field(description="the text; for media, a placeholder such as `[audio]`")
    media_type: str | None = Field(
        None, description="`audio` for a voice note (or image, video, ...); null for text"
    )
    transcript: str | None = Field(
        None, description="a voice note's transcript; null when it could not be heard"
    )
    timestamp: datetime
    status: Literal["pending", "sent", "delivered", "read", "failed"] | None
    sender: str | None


class ChatMessageList(BaseModel):
    data: list[ChatMessage]


class PendingMessage(BaseModel):
    id: str
    status: Literal["pending"]


class PendingMessageEnvelope(BaseModel):
    data: PendingMessage


class InjectedMessageId(BaseModel):
    id: str = Field(description="the WhatsApp message id (yours, or a made-up one)")


class InjectedMessageEnvelope(BaseModel):
    data: InjectedMessageId


class SentBySimulator(BaseModel):
    id: str
    to: str = Field(description="the phone it was sent to")
    text: str
    timestamp: datetime


class SimulatorOutbox(BaseModel):
    data: list[SentBySimulator] = Field(description="oldest first")


SVG = {"image/svg+xml": {"schema": {"type": "string"}}}

DESCRIPTION = """\
The REST API of leadflow. **Authorize** with an access token from `POST /api/auth/login`
(the first admin's e-mail and password are `ADMIN_EMAIL` / `ADMIN_PASSWORD`).

Every error has one shape, `{"error": {"code", "message", "details?"}}`; each operation
lists the statuses it can return. Realtime: `GET /ws?token=<access token>` (WebSocket)
and `GET /api/events` (Server-Sent Events) carry the events described in
[`/asyncapi`](/asyncapi) ([`/asyncapi.json`](/asyncapi.json)); see docs/API.md in the
repository.
"""


def install_openapi(app: FastAPI) -> None:
    """Build the document once, as the gateway answers: no 422 anywhere, errors are 400."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=DESCRIPTION,
                routes=app.routes,
            )
            for path in document.get("paths", {}).values():
                for operation in path.values():
                    operation.get("responses", {}).pop("422", None)
            schemas = document.get("components", {}).get("schemas", {})
            for unused in ("HTTPValidationError", "ValidationError"):
                schemas.pop(unused, None)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


class _Rendered:
    """What FastStream's page renderer reads of a specification: its JSON."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.title = document["info"]["title"]

    def to_json(self) -> str:
        return json.dumps(self.document)


def asyncapi_page(document: dict[str, Any]) -> str:
    """The AsyncAPI document as a page to read, beside /docs (the same CDN approach)."""
    return get_asyncapi_html(cast(Any, _Rendered(document)), try_it_out_path=None)


def operation_id(route: APIRoute) -> str:
    """`create_lead`, not `create_lead_api_leads_post`: generated clients read these."""
    return route.name
