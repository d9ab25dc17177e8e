"""Every row of CONTRACT.md's error table, through real HTTP, in the one error shape."""

from __future__ import annotations

import time
from collections.abc import Iterator

import asyncpg
import httpx
import jwt
import pytest
from leadflow.testing.fixtures import TEST_JWT_SECRET
from leadflow.testing.processes import Cluster, running_cluster
from leadflow.testing.services import plain_postgres_url

from tests.system.flows import unique_phone
from tests.system.people import Team, new_lead


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    error: dict[str, object] = body["error"]
    return error


async def test_400_for_a_body_that_fails_the_schema_names_the_field(
    client: httpx.AsyncClient, team: Team
) -> None:
    response = await client.post(
        "/api/leads", json={"name": "Ivo", "phone": "12-ab"}, headers=team.admin.auth
    )
    error = assert_error(response, 400, "validation_error")
    assert str(error["message"]).startswith("phone: ")
    missing = await client.post(
        "/api/leads", json={"phone": unique_phone()}, headers=team.admin.auth
    )
    assert assert_error(missing, 400, "validation_error")["details"] == [
        {"field": "name", "message": "Field required"}
    ]
    not_json = await client.post(
        "/api/leads",
        content=b"{nope",
        headers={**team.admin.auth, "Content-Type": "application/json"},
    )
    assert_error(not_json, 400, "validation_error")


async def test_401_without_a_token_and_for_bad_credentials_with_one_message(
    client: httpx.AsyncClient, team: Team
) -> None:
    assert_error(await client.get("/api/leads"), 401, "unauthorized")
    wrong_password = await client.post(
        "/api/auth/login", json={"email": "admin@test.local", "password": "not-it"}
    )
    unknown_email = await client.post(
        "/api/auth/login", json={"email": "nobody@test.local", "password": "not-it"}
    )
    assert assert_error(wrong_password, 401, "unauthorized") == assert_error(
        unknown_email, 401, "unauthorized"
    )


async def test_403_when_the_role_does_not_allow_it(client: httpx.AsyncClient, team: Team) -> None:
    create = await client.post(
        "/api/consultants",
        json={"name": "X", "email": "x@example.com", "password": "password-123"},
        headers=team.ana.auth,
    )
    assert_error(create, 403, "forbidden")
    assert_error(await client.get("/api/consultants", headers=team.ana.auth), 403, "forbidden")
    lead = await new_lead(client, team.ana)
    assign = await client.post(
        f"/api/leads/{lead['id']}/assign",
        json={"consultant_id": team.bia.id},
        headers=team.ana.auth,
    )
    assert_error(assign, 403, "forbidden")
    promote = await client.patch(
        f"/api/consultants/{team.ana.id}", json={"role": "admin"}, headers=team.manager.auth
    )
    assert_error(promote, 403, "forbidden")


async def test_404_for_unknown_ids_and_unknown_paths(client: httpx.AsyncClient, team: Team) -> None:
    assert_error(
        await client.get("/api/leads/does-not-exist", headers=team.admin.auth), 404, "not_found"
    )
    assert_error(await client.get("/api/nothing-here", headers=team.admin.auth), 404, "not_found")


async def test_409_for_a_duplicate_consultant_email(client: httpx.AsyncClient, team: Team) -> None:
    body = {"name": "Dup", "email": "dup-409@example.com", "password": "password-123"}
    first = await client.post("/api/consultants", json=body, headers=team.admin.auth)
    again = await client.post(
        "/api/consultants", json={**body, "email": "DUP-409@example.com"}, headers=team.admin.auth
    )
    assert first.status_code in (201, 409)
    assert_error(again, 409, "conflict")


async def test_413_for_a_body_over_one_mebibyte(client: httpx.AsyncClient, team: Team) -> None:
    huge = {"name": "Big", "phone": unique_phone(), "notes": "x" * (1024 * 1024)}
    response = await client.post("/api/leads", json=huge, headers=team.admin.auth)
    assert_error(response, 413, "payload_too_large")
    found = await client.get("/api/leads", params={"q": huge["phone"]}, headers=team.admin.auth)
    assert found.json()["total"] == 0


async def test_500_never_shows_a_stack_trace_or_sql(
    client: httpx.AsyncClient, team: Team, cluster: Cluster
) -> None:
    lead = await new_lead(client, team.admin)
    # A row no code path writes: the service fails while reading it.
    connection = await asyncpg.connect(plain_postgres_url(cluster.env["DATABASE_URL"]))
    try:
        await connection.execute("UPDATE leads SET status = 'BOGUS' WHERE id = $1", lead["id"])
    finally:
        await connection.close()
    response = await client.get(f"/api/leads/{lead['id']}", headers=team.admin.auth)
    error = assert_error(response, 500, "internal_error")
    text = response.text.lower()
    assert "traceback" not in text and "select" not in text and "bogus" not in text
    assert error["message"] == "internal error"


@pytest.fixture(scope="module")
def gateway_alone(module_cluster_env: dict[str, str]) -> Iterator[Cluster]:
    """A gateway whose backing services never answer, with a small rate budget."""
    env = {
        **module_cluster_env,
        "BROKER_NAMESPACE": module_cluster_env["BROKER_NAMESPACE"] + "alone.",
        "RPC_TIMEOUT_S": "1",
        "RATE_LIMIT_PER_MINUTE": "60",
        "RATE_LIMIT_BURST": "5",
    }
    with running_cluster(env, services=("gateway",)) as cluster:
        yield cluster


def token_for(sub: str, role: str = "admin") -> str:
    now = int(time.time())
    claims = {"sub": sub, "role": role, "exp": now + 600, "iat": now, "jti": sub, "typ": "access"}
    return jwt.encode(claims, TEST_JWT_SECRET, algorithm="HS256")


async def test_503_when_a_backing_service_does_not_answer_in_time(gateway_alone: Cluster) -> None:
    async with httpx.AsyncClient(base_url=gateway_alone.gateway, timeout=10) as client:
        started = time.monotonic()
        response = await client.get(
            "/api/leads", headers={"Authorization": f"Bearer {token_for('a')}"}
        )
        elapsed = time.monotonic() - started
    assert_error(response, 503, "unavailable")
    assert elapsed < 5  # the 1 s deadline, not a hang


async def test_429_with_retry_after_past_the_rate_limit(gateway_alone: Cluster) -> None:
    async with httpx.AsyncClient(base_url=gateway_alone.gateway, timeout=10) as client:
        statuses = [(await client.get("/api/leads")).status_code for _ in range(5)]
        limited = await client.get("/api/leads")
        other_client = await client.get(
            "/api/auth/me", headers={"Authorization": f"Bearer {token_for('someone-else')}"}
        )
    assert statuses == [401] * 5
    assert_error(limited, 429, "rate_limited")
    assert int(limited.headers["Retry-After"]) >= 1
    assert other_client.status_code != 429  # one client's flood is not another's problem
