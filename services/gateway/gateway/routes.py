"""REST routes of CONTRACT.md. Thin: check the caller, shape the body, forward."""

from __future__ import annotations

import contextlib
import time
from math import ceil
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, HTTPException, Query, Request, Response
from leadflow.auth import SessionRevocations, issue_access_token
from leadflow.contracts import ConsultantCreate, ConsultantPatch, LeadCreate, LeadPatch
from leadflow.events import ConsultantSessionsRevoked, LeadSource, LeadStatus, Role, Temperature
from leadflow.rpc import ServiceError, Unauthorized, Unavailable
from leadflow.settings import Settings
from pydantic import BaseModel, Field

from gateway.deps import (
    LIVIA_DEADLINE_S,
    AdminOnly,
    AssignmentDep,
    Caller,
    LeadsDep,
    LiviaDep,
    SettingsDep,
    Staff,
    actor,
    current_claims,
    json_page,
)
from gateway.limits import TokenBuckets
from gateway.openapi import (
    ConsultantEnvelope,
    ConsultantList,
    ConsultantStatsEnvelope,
    ConversationEnvelope,
    LeadDetail,
    LeadEnvelope,
    LeadPage,
    TokenPair,
    doc,
)

router = APIRouter(prefix="/api")


class LoginBody(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)


class RefreshBody(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=512)


class AssignBody(BaseModel):
    consultant_id: str = Field(min_length=1, max_length=64)


def _token_pair(settings: Settings, session: dict[str, Any]) -> dict[str, Any]:
    consultant = session["consultant"]
    access = issue_access_token(
        settings.jwt_secret,
        consultant_id=consultant["id"],
        role=Role(consultant["role"]),
        ttl_s=settings.access_token_ttl,
        generation=int(session.get("session_generation") or 0),
    )
    return {
        "access_token": access,
        "refresh_token": session["refresh_token"],
        "token_type": "bearer",
        "expires_in": settings.access_token_ttl,
    }


@router.post(
    "/auth/login",
    **doc(200, TokenPair, "a new token pair", errors=(400, 401, 413, 429, 503)),
)
async def login(
    body: LoginBody, request: Request, leads: LeadsDep, settings: SettingsDep
) -> dict[str, Any]:
    """Failed logins are throttled per account too, so guessing one account's password
    from many addresses is as slow as from one."""
    throttle: TokenBuckets = request.app.state.login_failures
    account = "account:" + body.email.strip().lower()
    if wait := throttle.wait(account, time.monotonic()):
        raise HTTPException(
            429, "too many failed logins for this account", {"Retry-After": str(ceil(wait))}
        )
    try:
        session = await leads.call("login", email=body.email, password=body.password)
    except ServiceError as exc:
        if exc.code == Unauthorized.code:  # bad credentials, as the service reports them
            throttle.take(account, time.monotonic())
        raise
    return _token_pair(settings, session)


@router.post(
    "/auth/refresh",
    **doc(
        200,
        TokenPair,
        "a new pair; the old refresh token is spent",
        errors=(400, 401, 413, 429, 503),
    ),
)
async def refresh(body: RefreshBody, leads: LeadsDep, settings: SettingsDep) -> dict[str, Any]:
    session = await leads.call("refresh", refresh_token=body.refresh_token)
    return _token_pair(settings, session)


@router.post(
    "/auth/logout",
    status_code=204,
    **doc(
        204,
        None,
        "the token family and the access token of the call are revoked",
        errors=(400, 401, 413, 429, 503),
    ),
)
async def logout(body: RefreshBody, request: Request, leads: LeadsDep) -> Response:
    """Revoke the refresh token's family and, with it, the access token of this call."""
    claims = None
    with contextlib.suppress(ServiceError):  # logging out with an expired token is fine
        claims = await current_claims(request, None)
    await leads.call(
        "logout",
        refresh_token=body.refresh_token,
        access_token=claims and {"jti": claims.jti, "expires_at": claims.expires_at},
    )
    if claims:  # at once on this replica; the others hear it from the broker
        revocations: SessionRevocations = request.app.state.revocations
        revocations.apply(
            ConsultantSessionsRevoked(
                consultant_id=claims.consultant_id, jti=claims.jti, expires_at=claims.expires_at
            )
        )
    return Response(status_code=204)


@router.get("/auth/me", **doc(200, ConsultantEnvelope, "the caller", errors=(401, 429, 503)))
async def me(caller: Caller, leads: LeadsDep) -> dict[str, Any]:
    return {"data": await leads.call("get_consultant", id=caller.consultant_id)}


@router.post(
    "/consultants",
    status_code=201,
    **doc(201, ConsultantEnvelope, "created", errors=(400, 401, 403, 409, 413, 429, 503)),
)
async def create_consultant(
    body: ConsultantCreate, caller: AdminOnly, leads: LeadsDep
) -> dict[str, Any]:
    data = await leads.call(
        "create_consultant", actor=actor(caller), data=body.model_dump(mode="json")
    )
    return {"data": data}


@router.patch(
    "/consultants/{consultant_id}",
    **doc(200, ConsultantEnvelope, "changed", errors=(400, 401, 403, 404, 409, 413, 429, 503)),
)
async def update_consultant(
    consultant_id: str, body: ConsultantPatch, caller: AdminOnly, leads: LeadsDep
) -> dict[str, Any]:
    data = await leads.call(
        "update_consultant",
        actor=actor(caller),
        id=consultant_id,
        data=body.model_dump(mode="json", exclude_unset=True),
    )
    return {"data": data}


@router.get(
    "/consultants/{consultant_id}/stats",
    **doc(200, ConsultantStatsEnvelope, "the stats", errors=(401, 403, 404, 429, 503)),
)
async def consultant_stats(
    consultant_id: str, caller: Caller, assignment: AssignmentDep
) -> dict[str, Any]:
    """Admins and managers see anyone's; a consultant only their own."""
    data = await assignment.call("consultant_stats", actor=actor(caller), id=consultant_id)
    return {"data": {"consultant_id": consultant_id, **data}}


@router.get(
    "/consultants", **doc(200, ConsultantList, "every consultant", errors=(401, 403, 429, 503))
)
async def list_consultants(caller: Staff, leads: LeadsDep) -> dict[str, Any]:
    return {"data": await leads.call("list_consultants", actor=actor(caller))}


@router.post(
    "/leads",
    status_code=201,
    **doc(201, LeadEnvelope, "created", errors=(400, 401, 409, 413, 429, 503)),
)
async def create_lead(
    body: LeadCreate,
    caller: Caller,
    leads: LeadsDep,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> dict[str, Any]:
    data = body.model_dump(mode="json", exclude_none=True)
    result = await leads.call(
        "create_lead", actor=actor(caller), data=data, idempotency_key=idempotency_key
    )
    if not result["created"]:
        response.status_code = 200
    return {"data": result["lead"]}


@router.get("/leads", **doc(200, LeadPage, "one page, newest first", errors=(400, 401, 429, 503)))
async def list_leads(
    caller: Caller,
    leads: LeadsDep,
    status: LeadStatus | None = None,
    temperature: Temperature | None = None,
    consultant_id: str | None = None,
    source: LeadSource | None = None,
    q: Annotated[str | None, Query(max_length=255)] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
    sort: Literal["created_at", "-created_at"] = "-created_at",
) -> Response:
    query = {
        "status": status,
        "temperature": temperature,
        "consultant_id": consultant_id,
        "source": source,
        "q": q,
        "page": page,
        "page_size": page_size,
        "sort": sort,
    }
    return json_page(await leads.call("list_leads", actor=actor(caller), query=query))


@router.get(
    "/leads/{lead_id}",
    **doc(
        200, LeadDetail, "the lead, its audit trail and conversation", errors=(401, 404, 429, 503)
    ),
)
async def get_lead(
    lead_id: str, caller: Caller, leads: LeadsDep, livia: LiviaDep
) -> dict[str, Any]:
    # The leads service decides who may see the lead; only then is wa-livia asked for
    # the lead's conversation with Lívia.
    lead = await leads.call("get_lead", actor=actor(caller), id=lead_id)
    interactions = lead.pop("interactions", [])
    try:
        conversation = await livia.within(LIVIA_DEADLINE_S).call("conversation", lead_id=lead["id"])
    except Unavailable:
        # wa-livia is one replica (one WhatsApp session) and restarts on every deploy or
        # re-pair: the lead page stays up and says the conversation is out of reach.
        return {
            "data": lead,
            "interactions": interactions,
            "conversation": None,
            "conversation_unavailable": True,
        }
    return {"data": lead, "interactions": interactions, "conversation": conversation}


@router.patch(
    "/leads/{lead_id}",
    **doc(200, LeadEnvelope, "changed", errors=(400, 401, 404, 409, 413, 429, 503)),
)
async def update_lead(
    lead_id: str, body: LeadPatch, caller: Caller, leads: LeadsDep
) -> dict[str, Any]:
    data = await leads.call(
        "update_lead",
        actor=actor(caller),
        id=lead_id,
        data=body.model_dump(mode="json", exclude_unset=True),
    )
    return {"data": data}


@router.post(
    "/leads/{lead_id}/assign",
    **doc(200, LeadEnvelope, "assigned", errors=(400, 401, 403, 404, 413, 429, 503)),
)
async def assign_lead(
    lead_id: str, body: AssignBody, caller: Staff, leads: LeadsDep
) -> dict[str, Any]:
    data = await leads.call(
        "assign_lead", actor=actor(caller), id=lead_id, consultant_id=body.consultant_id
    )
    return {"data": data}


@router.post(
    "/leads/{lead_id}/livia/resume",
    **doc(200, ConversationEnvelope, "Lívia continues", errors=(401, 403, 404, 413, 429, 503)),
)
async def resume_livia(lead_id: str, caller: Staff, livia: LiviaDep) -> dict[str, Any]:
    """Let Lívia continue a conversation a person had taken over."""
    return {"data": await livia.call("resume", actor=actor(caller), id=lead_id)}
