"""The OpenAPI and AsyncAPI documents are valid, and every route answers with exactly the
error statuses its operation documents: each one is provoked through real HTTP, and
a battery of generic bad requests to every route never yields an undocumented one."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, get_args

import httpx
import pytest
from faststream.specification.asyncapi.v3_0_0.schema import ApplicationSchema
from gateway.openapi import ErrorCode
from jsonschema import Draft202012Validator
from leadflow.asyncapi import asyncapi_document
from leadflow.bus import InMemoryBus
from leadflow.cli import build_service
from leadflow.http import CONTRACT_STATUS
from leadflow.service import SERVICE_NAMES, Service, path_router
from leadflow.settings import Settings
from leadflow.testing.fixtures import TEST_ADMIN, TEST_JWT_SECRET, TEST_WEBHOOK_SECRET
from leadflow.testing.processes import serving_in_process
from openapi_spec_validator import validate


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def unique_phone() -> str:
    return "+55119" + str(uuid.uuid4().int)[:8]


METHODS = ("get", "post", "put", "patch", "delete")
HUGE = b"x" * (1024 * 1024 + 1)


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "JWT_SECRET": TEST_JWT_SECRET,
        "WEBHOOK_SECRET": TEST_WEBHOOK_SECRET,
        "ADMIN_EMAIL": TEST_ADMIN[0],
        "ADMIN_PASSWORD": TEST_ADMIN[1],
        "WHATSAPP_TRANSPORT": "simulator",
        "RATE_LIMIT_PER_MINUTE": 60000,
        "RATE_LIMIT_BURST": 5000,
        "LOGIN_RATE_LIMIT_PER_MINUTE": 6000,
        **overrides,
    }
    return Settings(_env_file=None, **values)


def gateway_alone(**overrides: Any) -> Service:
    return build_service("gateway", settings(**overrides), InMemoryBus())


# --- the documents ----------------------------------------------------------------


def test_the_openapi_document_is_valid_openapi_with_a_bearer_scheme_and_no_422() -> None:
    document = gateway_alone().app.openapi()
    validate(document)
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": document["components"]["securitySchemes"]["bearer"]["description"],
    }
    operations = [op for path in document["paths"].values() for op in path.values()]
    assert all("422" not in op["responses"] for op in operations)
    ids = [op["operationId"] for op in operations]
    assert len(ids) == len(set(ids)) and "create_lead" in ids  # names a client can use
    svg = document["paths"]["/api/whatsapp/sessions/{name}/qr.svg"]["get"]["responses"]["200"]
    assert list(svg["content"]) == ["image/svg+xml"]
    assert set(get_args(ErrorCode)) == set(CONTRACT_STATUS)


def test_the_asyncapi_document_is_valid_asyncapi_3_with_resolvable_payload_schemas() -> None:
    document = asyncapi_document()
    ApplicationSchema.model_validate(document)
    assert document["asyncapi"] == "3.0.0"

    def resolve(ref: str) -> Any:
        node: Any = document
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
        return node

    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
            return found + [r for value in node.values() for r in refs(value)]
        if isinstance(node, list):
            return [r for value in node for r in refs(value)]
        return []

    for ref in refs(document):
        assert resolve(ref) is not None, ref
    for name, schema in document["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema), name
    for operation in document["operations"].values():
        assert operation["action"] in ("send", "receive")
        resolve(operation["channel"]["$ref"])


# --- the whole system in this process, and two gateways that cannot reach it ----------


@dataclass
class Person:
    id: str
    email: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return bearer(self.token)


@dataclass
class World:
    http: httpx.AsyncClient
    admin: Person
    ana: Person
    bia: Person
    lead: dict[str, Any] = field(default_factory=dict)  # Ana's
    bias_lead: dict[str, Any] = field(default_factory=dict)
    livia_lead_id: str = ""

    async def login(self, email: str, password: str) -> dict[str, Any]:
        response = await self.http.post(
            "/api/auth/login", json={"email": email, "password": password}
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def fresh_refresh_token(self) -> str:
        return str((await self.login(*TEST_ADMIN))["refresh_token"])

    async def lead_version(self) -> int:
        response = await self.http.get(f"/api/leads/{self.lead['id']}", headers=self.admin.auth)
        return int(response.json()["data"]["version"])


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    bus = InMemoryBus()
    services = [build_service(n, settings(DATABASE_URL=database_url), bus) for n in SERVICE_NAMES]
    gateway = services[0]
    routes = [(prefix, s.app) for s in services[1:] for prefix in s.public_prefixes]
    app = path_router(routes, gateway.app)
    async with (
        serving_in_process(services, bus, app) as url,
        httpx.AsyncClient(base_url=url, timeout=20) as http,
    ):
        yield await populate(http)


async def populate(http: httpx.AsyncClient) -> World:
    admin_session = await http.post(
        "/api/auth/login", json={"email": TEST_ADMIN[0], "password": TEST_ADMIN[1]}
    )
    admin_token = admin_session.json()["access_token"]
    me = (await http.get("/api/auth/me", headers=bearer(admin_token))).json()["data"]
    people = {}
    for name in ("ana", "bia"):
        email = f"{name}-{uuid.uuid4().hex[:8]}@example.com"
        created = await http.post(
            "/api/consultants",
            json={"name": name.title(), "email": email, "password": "password-123"},
            headers=bearer(admin_token),
        )
        assert created.status_code == 201, created.text
        session = await http.post(
            "/api/auth/login", json={"email": email, "password": "password-123"}
        )
        people[name] = Person(created.json()["data"]["id"], email, session.json()["access_token"])
    world = World(http, Person(me["id"], TEST_ADMIN[0], admin_token), people["ana"], people["bia"])
    for owner, attribute in ((world.ana, "lead"), (world.bia, "bias_lead")):
        created = await http.post(
            "/api/leads", json={"name": "Lead", "phone": unique_phone()}, headers=owner.auth
        )
        assert created.status_code == 201, created.text
        setattr(world, attribute, created.json()["data"])
    # A conversation with Lívia, so that resuming her has something to resume.
    phone = unique_phone()
    inbound = await http.post(
        "/api/dev/whatsapp/livia/inbound",
        json={"from": phone, "text": "Oi, quero financiar um apartamento"},
        headers=world.admin.auth,
    )
    assert inbound.status_code == 202, inbound.text
    async with asyncio.timeout(30):
        while not world.livia_lead_id:
            found = await http.get("/api/leads", params={"q": phone}, headers=world.admin.auth)
            if (
                found.json()["data"]
                and (
                    await http.get(
                        f"/api/leads/{found.json()['data'][0]['id']}", headers=world.admin.auth
                    )
                ).json()["conversation"]
            ):
                world.livia_lead_id = found.json()["data"][0]["id"]
            else:
                await asyncio.sleep(0.1)
    return world


# --- what each route should do ---------------------------------------------------------

Request = tuple[str, dict[str, Any]]  # (path, httpx keyword arguments)
Recipe = Callable[[World], Awaitable[Request]]


def signed(body: bytes) -> dict[str, Any]:
    signature = hmac.new(TEST_WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {
        "content": body,
        "headers": {"X-Signature": f"sha256={signature}", "Content-Type": "application/json"},
    }


def chat_of(lead: dict[str, Any]) -> str:
    return f"{lead['phone'].lstrip('+')}@s.whatsapp.net"


UNKNOWN_CHAT = "5511900000000@s.whatsapp.net"


@dataclass
class Route:
    """How to call one operation validly, and how to provoke each of its errors."""

    valid: Recipe
    provoke: dict[int, Recipe]
    success: int = 200
    # Logging a session out would end the other checks' WhatsApp: valid calls only idle.
    harmless: bool = True


def fixed(path: str, **kwargs: Any) -> Recipe:
    async def recipe(world: World) -> Request:
        return path, kwargs

    return recipe


def as_(who: str, path: Callable[[World], str], **kwargs: Any) -> Recipe:
    async def recipe(world: World) -> Request:
        person: Person = getattr(world, who)
        return path(world), {"headers": person.auth, **kwargs}

    return recipe


def admin(path: str | Callable[[World], str], **kwargs: Any) -> Recipe:
    return as_("admin", path if callable(path) else (lambda _: path), **kwargs)


def ana(path: str | Callable[[World], str], **kwargs: Any) -> Recipe:
    return as_("ana", path if callable(path) else (lambda _: path), **kwargs)


def anonymous(path: str | Callable[[World], str], **kwargs: Any) -> Recipe:
    async def recipe(world: World) -> Request:
        return (path(world) if callable(path) else path), kwargs

    return recipe


def lead_path(suffix: str = "") -> Callable[[World], str]:
    return lambda world: f"/api/leads/{world.lead['id']}{suffix}"


async def refresh_body(world: World) -> Request:
    return "/api/auth/refresh", {"json": {"refresh_token": await world.fresh_refresh_token()}}


async def logout_body(world: World) -> Request:
    return "/api/auth/logout", {"json": {"refresh_token": await world.fresh_refresh_token()}}


async def patch_lead(world: World) -> Request:
    body = {"version": await world.lead_version(), "notes": "called"}
    return lead_path()(world), {"headers": world.admin.auth, "json": body}


async def stale_patch(world: World) -> Request:
    body = {"version": await world.lead_version() - 1, "notes": "stale"}
    return lead_path()(world), {"headers": world.admin.auth, "json": body}


def new_consultant() -> dict[str, Any]:
    return {
        "name": "Caio",
        "email": f"caio-{uuid.uuid4().hex[:8]}@example.com",
        "password": "password-123",
    }


def new_lead() -> dict[str, Any]:
    return {"name": "Duda", "phone": unique_phone()}


async def duplicate_email(world: World) -> Request:
    body = {**new_consultant(), "email": world.ana.email}
    return "/api/consultants", {"headers": world.admin.auth, "json": body}


async def someone_elses_phone(world: World) -> Request:
    body = {"name": "Again", "phone": world.bias_lead["phone"]}
    return "/api/leads", {"headers": world.ana.auth, "json": body}


async def assign_to_ana(world: World) -> Request:
    body = {"consultant_id": world.ana.id}
    return lead_path("/assign")(world), {"headers": world.admin.auth, "json": body}


async def signed_new_lead(world: World) -> Request:
    return "/api/webhooks/leads", signed(json.dumps(new_lead()).encode())


ROUTES: dict[tuple[str, str], Route] = {
    ("post", "/api/auth/login"): Route(
        fixed("/api/auth/login", json={"email": TEST_ADMIN[0], "password": TEST_ADMIN[1]}),
        {
            400: fixed("/api/auth/login", json={}),
            401: fixed("/api/auth/login", json={"email": TEST_ADMIN[0], "password": "nope"}),
        },
    ),
    ("post", "/api/auth/refresh"): Route(
        refresh_body,
        {
            400: fixed("/api/auth/refresh", json={}),
            401: fixed("/api/auth/refresh", json={"refresh_token": "spent-or-made-up"}),
        },
    ),
    ("post", "/api/auth/logout"): Route(
        logout_body,
        {
            400: fixed("/api/auth/logout", json={}),
            401: fixed("/api/auth/logout", json={"refresh_token": "spent-or-made-up"}),
        },
        success=204,
    ),
    ("get", "/api/auth/me"): Route(admin("/api/auth/me"), {}),
    ("post", "/api/consultants"): Route(
        admin("/api/consultants", json=new_consultant()),
        {
            400: admin("/api/consultants", json={}),
            403: ana("/api/consultants", json={}),
            409: duplicate_email,
        },
        success=201,
    ),
    ("patch", "/api/consultants/{consultant_id}"): Route(
        admin(lambda w: f"/api/consultants/{w.ana.id}", json={"name": "Ana"}),
        {
            400: admin(lambda w: f"/api/consultants/{w.ana.id}", json={"name": 7}),
            403: ana(lambda w: f"/api/consultants/{w.ana.id}", json={"name": "Me"}),
            404: admin("/api/consultants/nobody", json={"name": "X"}),
            409: admin(lambda w: f"/api/consultants/{w.admin.id}", json={"active": False}),
        },
    ),
    ("get", "/api/consultants/{consultant_id}/stats"): Route(
        admin(lambda w: f"/api/consultants/{w.ana.id}/stats"),
        {
            403: ana(lambda w: f"/api/consultants/{w.bia.id}/stats"),
            404: admin("/api/consultants/nobody/stats"),
        },
    ),
    ("get", "/api/consultants"): Route(admin("/api/consultants"), {403: ana("/api/consultants")}),
    ("post", "/api/leads"): Route(
        admin("/api/leads", json=new_lead()),
        {
            400: admin("/api/leads", json={"name": "Ivo", "phone": "12-ab"}),
            409: someone_elses_phone,
        },
        success=201,
    ),
    ("get", "/api/leads"): Route(
        admin("/api/leads"), {400: admin("/api/leads", params={"page": 0})}
    ),
    ("get", "/api/leads/{lead_id}"): Route(
        admin(lead_path()), {404: ana(lambda w: f"/api/leads/{w.bias_lead['id']}")}
    ),
    ("patch", "/api/leads/{lead_id}"): Route(
        patch_lead,
        {
            400: admin(lead_path(), json={"notes": "no version"}),
            404: admin("/api/leads/nothing", json={"version": 1}),
            409: stale_patch,
        },
    ),
    ("post", "/api/leads/{lead_id}/assign"): Route(
        assign_to_ana,
        {
            400: admin(lead_path("/assign"), json={"consultant_id": "no-such-consultant"}),
            403: ana(lead_path("/assign"), json={"consultant_id": "x"}),
            404: admin("/api/leads/nothing/assign", json={"consultant_id": "x"}),
        },
    ),
    ("post", "/api/webhooks/leads"): Route(
        signed_new_lead,
        {
            400: anonymous("/api/webhooks/leads", **signed(b'{"name": "Ivo"}')),
            401: anonymous("/api/webhooks/leads", json=new_lead()),
        },
        success=202,
    ),
    ("post", "/api/leads/{lead_id}/livia/resume"): Route(
        admin(lambda w: f"/api/leads/{w.livia_lead_id}/livia/resume"),
        {
            403: ana(lambda w: f"/api/leads/{w.livia_lead_id}/livia/resume"),
            404: admin(lead_path("/livia/resume")),
        },  # a lead without a conversation
    ),
    ("get", "/api/whatsapp/sessions"): Route(
        admin("/api/whatsapp/sessions"), {403: ana("/api/whatsapp/sessions")}
    ),
    ("get", "/api/whatsapp/sessions/{name}/qr"): Route(
        admin("/api/whatsapp/sessions/livia/qr"),  # the simulator is paired: 404
        {403: ana("/api/whatsapp/sessions/livia/qr"), 404: admin("/api/whatsapp/sessions/nope/qr")},
    ),
    ("get", "/api/whatsapp/sessions/{name}/qr.svg"): Route(
        admin("/api/whatsapp/sessions/livia/qr.svg"),
        {
            403: ana("/api/whatsapp/sessions/livia/qr.svg"),
            404: admin("/api/whatsapp/sessions/nope/qr.svg"),
        },
    ),
    ("post", "/api/whatsapp/sessions/{name}/logout"): Route(
        admin("/api/whatsapp/sessions/consultant/logout"),
        {
            403: ana("/api/whatsapp/sessions/consultant/logout"),
            404: admin("/api/whatsapp/sessions/nope/logout"),
        },
        success=202,
        harmless=False,
    ),
    ("get", "/api/whatsapp/notices"): Route(
        admin("/api/whatsapp/notices"),
        {
            400: admin("/api/whatsapp/notices", params={"limit": 0}),
            403: ana("/api/whatsapp/notices"),
        },
    ),
    ("get", "/api/chats"): Route(
        admin("/api/chats"), {400: admin("/api/chats", params={"limit": 0})}
    ),
    ("get", "/api/chats/{jid}/messages"): Route(
        admin(lambda w: f"/api/chats/{chat_of(w.lead)}/messages"),
        {
            400: admin(lambda w: f"/api/chats/{chat_of(w.lead)}/messages", params={"limit": 0}),
            404: ana(f"/api/chats/{UNKNOWN_CHAT}/messages"),
        },
    ),
    ("post", "/api/chats/{jid}/messages"): Route(
        admin(lambda w: f"/api/chats/{chat_of(w.lead)}/messages", json={"text": "Olá"}),
        {
            400: admin(lambda w: f"/api/chats/{chat_of(w.lead)}/messages", json={"text": ""}),
            404: ana(f"/api/chats/{UNKNOWN_CHAT}/messages", json={"text": "Olá"}),
        },
        success=202,
    ),
    ("post", "/api/chats/{jid}/read"): Route(
        admin(lambda w: f"/api/chats/{chat_of(w.lead)}/read"),
        {400: admin("/api/chats/garbage/read"), 404: ana(f"/api/chats/{UNKNOWN_CHAT}/read")},
        success=204,
    ),
    ("post", "/api/dev/whatsapp/{session}/inbound"): Route(
        admin(
            "/api/dev/whatsapp/consultant/inbound", json={"from": "+5511955554444", "text": "oi"}
        ),
        {
            400: admin("/api/dev/whatsapp/consultant/inbound", json={"text": "oi"}),
            403: ana(
                "/api/dev/whatsapp/consultant/inbound",
                json={"from": "+5511955554444", "text": "oi"},
            ),
            404: admin(
                "/api/dev/whatsapp/nope/inbound", json={"from": "+5511955554444", "text": "oi"}
            ),
        },
        success=202,
    ),
    ("post", "/api/dev/whatsapp/{session}/scan"): Route(
        admin("/api/dev/whatsapp/livia/scan"),  # the simulator is paired: 404
        {403: ana("/api/dev/whatsapp/livia/scan"), 404: admin("/api/dev/whatsapp/nope/scan")},
        harmless=False,
    ),
    ("get", "/api/dashboard"): Route(
        admin("/api/dashboard"), {400: admin("/api/dashboard", params={"since": "ontem"})}
    ),
    ("get", "/api/config"): Route(anonymous("/api/config"), {}),
    ("get", "/api/dev/whatsapp/{session}/outbox"): Route(
        admin("/api/dev/whatsapp/livia/outbox"),
        {403: ana("/api/dev/whatsapp/livia/outbox"), 404: admin("/api/dev/whatsapp/nope/outbox")},
    ),
}


def documented_errors(operation: dict[str, Any]) -> set[int]:
    return {int(status) for status in operation["responses"] if int(status) >= 400}


async def send(http: httpx.AsyncClient, method: str, request: Request) -> httpx.Response:
    path, kwargs = request
    return await http.request(method.upper(), path, **kwargs)


def generic_probes(method: str, request: Request) -> list[Request]:
    """Bad requests any route may meet: no token, a forged one, a huge or broken body."""
    path, kwargs = request
    headers = {k: v for k, v in kwargs.get("headers", {}).items() if k != "Authorization"}
    bare = {k: v for k, v in kwargs.items() if k not in ("headers", "json", "content")}
    probes: list[Request] = [
        (
            path,
            {
                **bare,
                "headers": headers,
                **{k: kwargs[k] for k in ("json", "content") if k in kwargs},
            },
        ),
        (path, {**kwargs, "headers": {**headers, "Authorization": "Bearer forged"}}),
    ]
    if method in ("post", "patch", "put"):
        probes.append(
            (
                path,
                {
                    **bare,
                    "headers": {**kwargs.get("headers", {}), "Content-Type": "application/json"},
                    "content": b"{broken",
                },
            )
        )
        probes.append((path, {**bare, "headers": kwargs.get("headers", {}), "content": HUGE}))
    return probes


async def test_every_route_answers_exactly_the_errors_it_documents(world: World) -> None:
    document = (await world.http.get("/openapi.json")).json()
    operations = {
        (method, path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }
    assert set(operations) == set(ROUTES), "each route needs its recipes in ROUTES"
    idle = gateway_alone(RPC_TIMEOUT_S=0.2).app  # no service answers it: 503
    strict = gateway_alone(
        RPC_TIMEOUT_S=0.2,
        RATE_LIMIT_PER_MINUTE=1,
        RATE_LIMIT_BURST=1,
        LOGIN_RATE_LIMIT_PER_MINUTE=1,
    ).app
    problems: list[str] = []
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(idle), base_url="http://idle") as idle_http,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(strict), base_url="http://strict"
        ) as strict_http,
    ):
        await strict_http.get("/api/leads")  # spends the address's one request,
        await strict_http.get("/api/leads", headers=world.admin.auth)  # the admin's
        await strict_http.post("/api/auth/login", json={})  # and its one login
        for (method, path), route in sorted(ROUTES.items(), key=lambda item: not item[1].harmless):
            documented = documented_errors(operations[(method, path)])
            generic: dict[str, httpx.Response] = {}
            for status, recipe in route.provoke.items():
                response = await send(world.http, method, await recipe(world))
                if response.status_code != status:
                    problems.append(
                        f"{method} {path}: expected {status}, got "
                        f"{response.status_code} {response.text[:200]}"
                    )
                generic[f"provoking {status}"] = response
            valid = await route.valid(world)
            if route.harmless:
                generic["valid"] = await send(world.http, method, valid)
            for number, probe in enumerate(generic_probes(method, valid)):
                generic[f"probe {number}"] = await send(world.http, method, probe)
            generic["backing service down"] = await send(idle_http, method, valid)
            generic["rate limited"] = await send(strict_http, method, valid)
            provoked: set[int] = set()
            for name, response in generic.items():
                status = response.status_code
                if status >= 400:
                    provoked.add(status)
                    body = response.json()
                    error = body.get("error", {})
                    if set(body) != {"error"} or set(error) - {"code", "message", "details"}:
                        problems.append(f"{method} {path} ({name}): not the error shape")
                    elif CONTRACT_STATUS.get(error.get("code")) != status:
                        problems.append(f"{method} {path} ({name}): {error} for {status}")
                elif status != route.success:
                    problems.append(f"{method} {path} ({name}): {status}")
            if undocumented := provoked - documented:
                problems.append(f"{method} {path}: answered {sorted(undocumented)}, undocumented")
            if never := documented - provoked:
                problems.append(f"{method} {path}: documents {sorted(never)}, never provoked")
    assert not problems, "\n".join(problems)
