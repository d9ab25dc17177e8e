"""Test data through the API: an admin and two consultants with their own tokens."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from tests.system.flows import bearer, create_consultant, login, login_admin, unique_phone


@dataclass
class Person:
    id: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return bearer(self.token)


@dataclass
class Team:
    admin: Person
    ana: Person
    bia: Person
    manager: Person


async def make_team(client: httpx.AsyncClient) -> Team:
    admin_token = await login_admin(client)
    me = (await client.get("/api/auth/me", headers=bearer(admin_token))).json()["data"]
    people = {}
    for name, role in (("ana", "consultant"), ("bia", "consultant"), ("gil", "manager")):
        email = f"{name}-{uuid.uuid4().hex[:8]}@example.com"
        record = await create_consultant(client, admin_token, name.title(), email=email, role=role)
        people[name] = Person(record["id"], await login(client, email, "password-123"))
    return Team(Person(me["id"], admin_token), people["ana"], people["bia"], people["gil"])


async def new_lead(
    client: httpx.AsyncClient, owner: Person, name: str = "Lead", **fields: Any
) -> dict[str, Any]:
    body = {"name": name, "phone": unique_phone(), **fields}
    response = await client.post("/api/leads", json=body, headers=owner.auth)
    assert response.status_code == 201, response.text
    lead: dict[str, Any] = response.json()["data"]
    return lead
