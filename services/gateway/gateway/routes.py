"""REST routes of CONTRACT.md. Thin: check the caller, shape the body, forward."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Response
from leadflow.auth import issue_access_token
from leadflow.events import LeadSource, LeadStatus, Role, Temperature
from pydantic import BaseModel, Field

from gateway.deps import AdminOnly, Caller, LeadsDep, SettingsDep, Staff, actor

router = APIRouter(prefix="/api")


class LoginBody(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)


class LeadBody(BaseModel):
    name: str
    phone: str
    email: str | None = None
    source: LeadSource | None = None
    notes: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class ConsultantBody(BaseModel):
    name: str
    email: str
    password: str
    role: Role = Role.CONSULTANT
    phone: str | None = None
    active: bool = True


@router.post("/auth/login")
async def login(body: LoginBody, leads: LeadsDep, settings: SettingsDep) -> dict[str, Any]:
    consultant = await leads.call("authenticate", email=body.email, password=body.password)
    token = issue_access_token(
        settings.jwt_secret,
        consultant_id=consultant["id"],
        role=Role(consultant["role"]),
        ttl_s=settings.access_token_ttl,
    )
    return {"access_token": token, "token_type": "bearer", "expires_in": settings.access_token_ttl}


@router.get("/auth/me")
async def me(caller: Caller, leads: LeadsDep) -> dict[str, Any]:
    return {"data": await leads.call("get_consultant", id=caller.consultant_id)}


@router.post("/consultants", status_code=201)
async def create_consultant(
    body: ConsultantBody, caller: AdminOnly, leads: LeadsDep
) -> dict[str, Any]:
    data = await leads.call(
        "create_consultant", actor=actor(caller), data=body.model_dump(mode="json")
    )
    return {"data": data}


@router.get("/consultants")
async def list_consultants(caller: Staff, leads: LeadsDep) -> dict[str, Any]:
    return {"data": await leads.call("list_consultants", actor=actor(caller))}


@router.post("/leads", status_code=201)
async def create_lead(
    body: LeadBody,
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


@router.get("/leads")
async def list_leads(
    caller: Caller,
    leads: LeadsDep,
    status: LeadStatus | None = None,
    temperature: Temperature | None = None,
    consultant_id: str | None = None,
    source: LeadSource | None = None,
    q: Annotated[str | None, Query(max_length=255)] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
    sort: Literal["created_at", "-created_at"] = "-created_at",
) -> dict[str, Any]:
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
    result: dict[str, Any] = await leads.call("list_leads", actor=actor(caller), query=query)
    return result


@router.get("/leads/{lead_id}")
async def get_lead(lead_id: str, caller: Caller, leads: LeadsDep) -> dict[str, Any]:
    lead = await leads.call("get_lead", actor=actor(caller), id=lead_id)
    interactions = lead.pop("interactions", [])
    return {"data": lead, "interactions": interactions}
