"""Bad input gets a clear 4xx and changes nothing (issue 15, "Input that cannot break the
pipeline" and "Phones as Brazilians type them"), through the public API."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from leadflow.testing.processes import Cluster, running_cluster

from tests.system.flows import create_consultant, eventually
from tests.system.people import Team, new_lead


@pytest.fixture(scope="module")
def cluster(module_cluster_env: dict[str, str]) -> Iterator[Cluster]:
    """The gateway, leads and the consultant WhatsApp session (chats, simulator)."""
    services = ("gateway", "leads", "wa-consultant")
    with running_cluster(module_cluster_env, services=services) as running:
        yield running


def national_mobile() -> str:
    """A São Paulo mobile as people type it: `(11) 9dddd-dddd`."""
    digits = str(uuid.uuid4().int)[:8]
    return f"(11) 9{digits[:4]}-{digits[4:]}"


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


async def test_a_phone_typed_without_country_code_is_a_brazilian_number(
    client: httpx.AsyncClient, team: Team
) -> None:
    typed = national_mobile()
    lead = await new_lead(client, team.admin, "Brasileira", phone=typed)
    digits = "".join(c for c in typed if c.isdigit())
    assert lead["phone"] == "+55" + digits  # not "+1..." (North America)


async def test_a_phone_that_is_not_valid_for_its_country_is_a_400_naming_the_field(
    client: httpx.AsyncClient, team: Team
) -> None:
    for phone in ("+1 555 123 4567", "(11) 1234", "+55 11 0000-0000"):
        response = await client.post(
            "/api/leads", json={"name": "X", "phone": phone}, headers=team.admin.auth
        )
        error = error_of(response, 400)
        assert error["message"].startswith("phone: ") and error["details"][0]["field"] == "phone"
    consultant = await client.post(
        "/api/consultants",
        json={
            "name": "Tel",
            "email": f"tel-{uuid.uuid4().hex[:6]}@example.com",
            "password": "password-123",
            "phone": "(11) 1234",
        },
        headers=team.admin.auth,
    )
    assert error_of(consultant, 400)["message"].startswith("phone: ")


async def test_consultants_phones_are_read_in_the_default_country_too(
    client: httpx.AsyncClient, team: Team
) -> None:
    typed = national_mobile()
    made = await create_consultant(
        client,
        team.admin.token,
        "Cris",
        email=f"cris-{uuid.uuid4().hex[:6]}@example.com",
        phone=typed,
    )
    assert made["phone"] == "+55" + "".join(c for c in typed if c.isdigit())


@pytest.mark.parametrize(
    ("metadata", "problem"),
    [
        ("deep", "levels deep"),
        ({"n": 2**64}, "64 bits"),
        ({"blob": "x" * 20_000}, "bytes"),
    ],
)
async def test_metadata_beyond_its_bounds_is_a_400_and_no_lead_is_created(
    client: httpx.AsyncClient, team: Team, metadata: Any, problem: str
) -> None:
    if metadata == "deep":
        metadata = {}
        for _ in range(198):
            metadata = {"a": metadata}
    name = f"Bounded {uuid.uuid4().hex[:8]}"
    body = json.dumps({"name": name, "phone": national_mobile(), "metadata": metadata})
    response = await client.post(
        "/api/leads",
        content=body,
        headers={**team.admin.auth, "Content-Type": "application/json"},
    )
    error = error_of(response, 400)
    assert error["message"].startswith("metadata: ") and problem in error["message"]
    listing = await client.get("/api/leads", params={"q": name}, headers=team.admin.auth)
    assert listing.status_code == 200 and listing.json()["total"] == 0


async def test_a_lead_whose_collected_metadata_is_not_an_object_can_still_be_assigned(
    client: httpx.AsyncClient, team: Team
) -> None:
    consultant = await create_consultant(
        client,
        team.admin.token,
        "Dora",
        email=f"dora-{uuid.uuid4().hex[:6]}@example.com",
        phone=national_mobile(),
    )
    lead = await new_lead(client, team.admin, "Coletado", metadata={"collected": "x"})
    assigned = await client.post(
        f"/api/leads/{lead['id']}/assign",
        json={"consultant_id": consultant["id"]},
        headers=team.admin.auth,
    )
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["data"]["consultant_id"] == consultant["id"]


async def test_a_page_beyond_any_listing_is_a_400(client: httpx.AsyncClient, team: Team) -> None:
    response = await client.get("/api/leads", params={"page": 10**20}, headers=team.admin.auth)
    assert error_of(response, 400)["message"].startswith("page: ")


async def test_a_version_below_one_is_refused_by_the_gateway_and_the_service_alike(
    client: httpx.AsyncClient, team: Team
) -> None:
    lead = await new_lead(client, team.admin, "Versao")
    response = await client.patch(
        f"/api/leads/{lead['id']}", json={"version": 0, "notes": "x"}, headers=team.admin.auth
    )
    assert error_of(response, 400)["message"].startswith("version: ")


async def test_a_non_ascii_webhook_signature_is_a_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/webhooks/leads",
        content=b'{"name": "A", "phone": "+5511987654321"}',
        headers={"Content-Type": "application/json", "X-Signature": "sha256=é".encode("latin-1")},
    )
    assert error_of(response, 400)["code"] == "validation_error"


async def test_a_chunked_body_over_one_mebibyte_is_a_413(
    client: httpx.AsyncClient, team: Team
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "Big", "phone": "+5511987654321", "notes": "'
        for _ in range(20):
            yield b"x" * 65536
        yield b'"}'

    response = await client.post(
        "/api/leads",
        content=chunks(),
        headers={**team.admin.auth, "Content-Type": "application/json"},
    )
    assert "content-length" not in response.request.headers
    assert error_of(response, 413)["code"] == "payload_too_large"


async def test_a_known_path_with_the_wrong_method_is_a_405(
    client: httpx.AsyncClient, team: Team
) -> None:
    response = await client.delete("/api/leads", headers=team.admin.auth)
    assert error_of(response, 405)["code"] == "method_not_allowed"
    assert response.headers["allow"] in ("GET", "POST")  # a method this path does take
    assert error_of(await client.get("/api/nowhere"), 404)["code"] == "not_found"


async def test_malformed_json_names_no_field(client: httpx.AsyncClient, team: Team) -> None:
    response = await client.post(
        "/api/leads",
        content=b'{"name": "A", "phone": "+5511987654321",}',
        headers={**team.admin.auth, "Content-Type": "application/json"},
    )
    error = error_of(response, 400)
    assert [detail["field"] for detail in error["details"]] == [""]
    assert error["message"].startswith("the body is not valid JSON")


async def test_a_message_to_a_chat_that_is_not_a_phone_is_a_400_and_creates_no_chat(
    client: httpx.AsyncClient, team: Team
) -> None:
    sent = await client.post(
        "/api/chats/garbage/messages", json={"text": "oi"}, headers=team.admin.auth
    )
    assert error_of(sent, 400)["message"].startswith("jid: ")
    read = await client.get("/api/chats/garbage/messages", headers=team.admin.auth)
    assert read.status_code == 400
    chats = (await client.get("/api/chats", headers=team.admin.auth)).json()["data"]
    assert not [chat for chat in chats if "garbage" in chat["id"]]


async def test_the_simulator_endpoints_answer_an_admin_only(
    client: httpx.AsyncClient, team: Team
) -> None:
    url = "/api/dev/whatsapp/consultant/outbox"
    assert error_of(await client.get(url), 401)["code"] == "unauthorized"
    assert error_of(await client.get(url, headers=team.ana.auth), 403)["code"] == "forbidden"
    assert (await client.get(url, headers=team.admin.auth)).status_code == 200
    inbound = "/api/dev/whatsapp/consultant/inbound"
    body = {"from": "+5511987654321", "text": "oi"}
    assert (await client.post(inbound, json=body)).status_code == 401
    typed = national_mobile()
    accepted = await client.post(
        inbound, json={"from": typed, "text": "oi"}, headers=team.admin.auth
    )
    assert accepted.status_code == 202, accepted.text

    async def chat_of_typed_number() -> list[dict[str, Any]]:
        chats = (await client.get("/api/chats", headers=team.admin.auth)).json()["data"]
        phone = "+55" + "".join(c for c in typed if c.isdigit())
        return [chat for chat in chats if chat["phone"] == phone]

    assert await eventually(chat_of_typed_number, timeout=15)
