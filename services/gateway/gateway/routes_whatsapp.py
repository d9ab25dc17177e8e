"""WhatsApp sessions, the consultants' inbox, and (simulator only) the dev endpoints."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from leadflow.contracts import normalise_phone
from leadflow.events import Role, SessionName
from leadflow.rpc import Invalid, NotFound, RpcClient, ServiceError
from pydantic import BaseModel, ConfigDict, Field, model_validator

from gateway.deps import (
    AdminOnly,
    Caller,
    SettingsDep,
    Staff,
    actor,
    json_page,
    require_roles,
)
from gateway.openapi import (
    SVG,
    ChatList,
    ChatMessageList,
    InjectedMessageEnvelope,
    PairingCodeEnvelope,
    PendingMessageEnvelope,
    SimulatorOutbox,
    WhatsAppSessionEnvelope,
    WhatsAppSessionList,
    doc,
)

router = APIRouter(prefix="/api")
# The simulator's endpoints act as any phone and list every message sent: admins only.
dev_router = APIRouter(prefix="/api/dev/whatsapp", dependencies=[require_roles(Role.ADMIN)])
# A consultant-session chat: a phone number's WhatsApp id. Anything else names no chat,
# and must not create one.
CHAT_JID = r"^[1-9]\d{6,14}@s\.whatsapp\.net$"
ChatJid = Annotated[
    str, Path(pattern=CHAT_JID, max_length=64, description="a chat's id: <digits>@s.whatsapp.net")
]


async def sessions(request: Request) -> dict[SessionName, RpcClient]:
    clients: dict[SessionName, RpcClient] = request.app.state.whatsapp
    return clients


SessionsDep = Annotated[dict[SessionName, RpcClient], Depends(sessions)]


def session_client(clients: dict[SessionName, RpcClient], name: str) -> RpcClient:
    try:
        return clients[SessionName(name)]
    except ValueError:
        raise NotFound(f"no WhatsApp session {name!r}") from None


class OutgoingText(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=4096)


class SimulatedInbound(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    sender: str = Field(alias="from", min_length=2, max_length=32)
    text: str | None = Field(None, min_length=1, max_length=65536)
    audio_b64: str | None = Field(
        None, min_length=1, max_length=1024 * 1024, description="a voice note, base64"
    )
    mime_type: str | None = Field(None, max_length=100, description="the voice note's type")
    push_name: str | None = Field(None, max_length=255)
    id: str | None = Field(None, max_length=128)
    timestamp: datetime | None = Field(None, description="WhatsApp's time of the message")
    from_me: bool = False

    @model_validator(mode="after")
    def _text_or_audio(self) -> SimulatedInbound:
        if (self.text is None) == (self.audio_b64 is None):
            raise ValueError("send either text or audio_b64")
        return self


@router.get(
    "/whatsapp/sessions",
    **doc(200, WhatsAppSessionList, "both sessions", errors=(401, 403, 429, 503)),
)
async def list_sessions(caller: Staff, clients: SessionsDep) -> dict[str, Any]:
    found = []
    for name, client in clients.items():
        try:
            found.append(await client.call("status"))
        except ServiceError:  # its process is down or busy: say so, do not fail the page
            found.append(
                {"name": name.value, "status": "disconnected", "phone": None, "since": None}
            )
    return {"data": found}


@router.get(
    "/whatsapp/sessions/{name}/qr",
    **doc(200, PairingCodeEnvelope, "while pairing", errors=(401, 403, 404, 429, 503)),
)
async def pairing_code(name: str, caller: AdminOnly, clients: SessionsDep) -> dict[str, Any]:
    return {"data": await session_client(clients, name).call("qr")}


@router.get(
    "/whatsapp/sessions/{name}/qr.svg",
    response_class=Response,
    **doc(200, SVG, "the code to scan", errors=(401, 403, 404, 429, 503)),
)
async def pairing_code_image(name: str, caller: AdminOnly, clients: SessionsDep) -> Response:
    code = await session_client(clients, name).call("qr")
    image = io.BytesIO()
    # A standalone document (with its xmlns), so browsers draw it as an <img>.
    segno.make(code["qr"], error="m").save(image, kind="svg", scale=6, xmldecl=False)
    return Response(image.getvalue(), media_type="image/svg+xml")


@router.post(
    "/whatsapp/sessions/{name}/logout",
    status_code=202,
    **doc(202, WhatsAppSessionEnvelope, "logging out", errors=(401, 403, 404, 413, 429, 503)),
)
async def logout_session(name: str, caller: AdminOnly, clients: SessionsDep) -> dict[str, Any]:
    return {"data": await session_client(clients, name).call("logout")}


@router.get("/chats", **doc(200, ChatList, "newest first", errors=(400, 401, 429, 503)))
async def list_chats(
    caller: Caller,
    clients: SessionsDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> Response:
    """Newest first, `limit` at most (an inbox pages; 10,000 chats at once helps nobody)."""
    chats = await clients[SessionName.CONSULTANT].call(
        "list_chats", actor=actor(caller), limit=limit
    )
    return json_page({"data": chats})


@router.get(
    "/chats/{jid}/messages",
    **doc(
        200,
        ChatMessageList,
        "the `limit` latest messages sent before the time `before`, oldest first",
        errors=(400, 401, 404, 429, 503),
    ),
)
async def chat_messages(
    jid: ChatJid,
    caller: Caller,
    clients: SessionsDep,
    before: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    data = await clients[SessionName.CONSULTANT].call(
        "chat_messages", actor=actor(caller), jid=jid, before=before, limit=limit
    )
    return json_page({"data": data})


@router.post(
    "/chats/{jid}/messages",
    status_code=202,
    **doc(202, PendingMessageEnvelope, "queued", errors=(400, 401, 404, 413, 429, 503)),
)
async def send_chat_message(
    jid: ChatJid, body: OutgoingText, caller: Caller, clients: SessionsDep
) -> dict[str, Any]:
    data = await clients[SessionName.CONSULTANT].call(
        "send_chat_message", actor=actor(caller), jid=jid, text=body.text
    )
    return {"data": data}


@router.post(
    "/chats/{jid}/read",
    status_code=204,
    **doc(204, None, "unread count reset", errors=(400, 401, 404, 413, 429, 503)),
)
async def mark_chat_read(jid: ChatJid, caller: Caller, clients: SessionsDep) -> Response:
    await clients[SessionName.CONSULTANT].call("mark_chat_read", actor=actor(caller), jid=jid)
    return Response(status_code=204)


@router.get(
    "/whatsapp/notices",
    **doc(200, ChatMessageList, "newest first", errors=(400, 401, 403, 429, 503)),
)
async def consultant_notices(
    caller: AdminOnly,
    clients: SessionsDep,
    consultant_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    """Notices sent to consultants' own phones (and their answers), newest first: they are
    not lead chats, so only an admin reads them, here."""
    data = await clients[SessionName.CONSULTANT].call(
        "list_notices", consultant_id=consultant_id, limit=limit
    )
    return json_page({"data": data})


@dev_router.post(
    "/{session}/inbound",
    status_code=202,
    **doc(
        202,
        InjectedMessageEnvelope,
        "delivered to the session",
        errors=(400, 401, 403, 404, 413, 429, 503),
    ),
)
async def simulate_inbound(
    session: str, body: SimulatedInbound, clients: SessionsDep, settings: SettingsDep
) -> dict[str, Any]:
    """As if `from` sent `text` to the session's number (development and tests only)."""
    try:
        phone = normalise_phone(body.sender, settings.default_country)
    except ValueError as exc:
        raise Invalid(f"from: {exc}", details=[{"field": "from", "message": str(exc)}]) from None
    data = await session_client(clients, session).call(
        "inject",
        phone=phone,
        text=body.text,
        audio_b64=body.audio_b64,
        mime_type=body.mime_type,
        push_name=body.push_name,
        id=body.id,
        timestamp=body.timestamp,
        from_me=body.from_me,
    )
    return {"data": data}


@dev_router.post(
    "/{session}/scan",
    **doc(
        200,
        WhatsAppSessionEnvelope,
        "the session, now connected",
        errors=(401, 403, 404, 413, 429, 503),
    ),
)
async def simulate_scan(session: str, caller: AdminOnly, clients: SessionsDep) -> dict[str, Any]:
    """As if a phone scanned the session's pairing code (development and tests only);
    404 when the session is not pairing."""
    return {"data": await session_client(clients, session).call("scan")}


@dev_router.get(
    "/{session}/outbox",
    **doc(200, SimulatorOutbox, "what the session sent", errors=(401, 403, 404, 429, 503)),
)
async def simulated_outbox(
    session: str, clients: SessionsDep, to: Annotated[str | None, Query()] = None
) -> dict[str, Any]:
    """What the session has sent, oldest first (development and tests only)."""
    return {"data": await session_client(clients, session).call("outbox", to=to)}
