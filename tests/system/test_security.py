"""Tokens cannot be forged, replayed or stretched; a consultant never sees another's lead."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator

import httpx
import jwt
import pytest
from leadflow.testing.fixtures import TEST_ADMIN, TEST_JWT_SECRET, TEST_WEBHOOK_SECRET
from leadflow.testing.processes import Cluster, running_cluster

from tests.system.flows import bearer, unique_phone
from tests.system.people import Team, new_lead


def b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def claims_of(token: str) -> dict[str, object]:
    decoded: dict[str, object] = jwt.decode(token, options={"verify_signature": False})
    return decoded


async def me_status(client: httpx.AsyncClient, token: str) -> int:
    return (await client.get("/api/auth/me", headers=bearer(token))).status_code


async def test_a_token_with_a_forged_payload_is_refused(
    client: httpx.AsyncClient, team: Team
) -> None:
    header, _, signature = team.ana.token.split(".")
    promoted = {**claims_of(team.ana.token), "role": "admin"}
    forged = f"{header}.{b64(promoted)}.{signature}"
    assert await me_status(client, forged) == 401
    assert (await client.get("/api/consultants", headers=bearer(forged))).status_code == 401


async def test_an_unsigned_alg_none_token_is_refused(client: httpx.AsyncClient, team: Team) -> None:
    claims = {**claims_of(team.ana.token), "role": "admin"}
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."
    assert await me_status(client, unsigned) == 401


async def test_a_token_signed_with_another_key_or_algorithm_is_refused(
    client: httpx.AsyncClient, team: Team
) -> None:
    claims = claims_of(team.ana.token)
    wrong_key = jwt.encode(claims, "another-secret-that-is-long-enough-to-pass", algorithm="HS256")
    other_alg = jwt.encode(claims, TEST_JWT_SECRET + "x" * 32, algorithm="HS512")
    assert [await me_status(client, t) for t in (wrong_key, other_alg, "garbage")] == [401] * 3


async def test_an_expired_token_is_refused(client: httpx.AsyncClient, team: Team) -> None:
    expired = jwt.encode(
        {**claims_of(team.ana.token), "exp": int(time.time()) - 1}, TEST_JWT_SECRET, "HS256"
    )
    assert await me_status(client, expired) == 401
    assert await me_status(client, team.ana.token) == 200


async def test_a_consultant_cannot_reach_another_consultants_lead_by_id(
    client: httpx.AsyncClient, team: Team
) -> None:
    theirs = await new_lead(client, team.bia, "Segredo")
    url = f"/api/leads/{theirs['id']}"
    assert (await client.get(url, headers=team.ana.auth)).status_code == 404
    patch = await client.patch(url, json={"notes": "mine now", "version": 1}, headers=team.ana.auth)
    assert patch.status_code == 404
    untouched = (await client.get(url, headers=team.bia.auth)).json()["data"]
    assert (untouched["notes"], untouched["version"]) == (None, 1)


async def test_a_consultant_never_sees_another_consultants_lead_in_lists_filters_search_or_counts(
    client: httpx.AsyncClient, team: Team
) -> None:
    theirs = await new_lead(client, team.bia, "Oculto Bia")
    mine = await new_lead(client, team.ana, "Visivel Ana")
    # Ana has exactly one lead; whatever she asks, that is all she can see or count.
    expectations: list[tuple[dict[str, str | int], list[str]]] = [
        ({}, [mine["id"]]),
        ({"consultant_id": team.bia.id}, [mine["id"]]),
        ({"q": "Oculto"}, []),
        ({"q": theirs["phone"][3:]}, []),
        ({"status": "NEW", "page_size": 200}, [mine["id"]]),
    ]
    for query, visible in expectations:
        body = (await client.get("/api/leads", params=query, headers=team.ana.auth)).json()
        assert ([lead["id"] for lead in body["data"]], body["total"]) == (visible, len(visible))
    searched = (
        await client.get("/api/leads", params={"q": "Oculto"}, headers=team.ana.auth)
    ).json()
    assert (searched["total"], searched["data"]) == (0, [])
    own = (await client.get("/api/leads", params={"q": "Visivel"}, headers=team.ana.auth)).json()
    assert [lead["id"] for lead in own["data"]] == [mine["id"]]
    staff = (
        await client.get("/api/leads", params={"q": "Oculto"}, headers=team.manager.auth)
    ).json()
    assert [lead["id"] for lead in staff["data"]] == [theirs["id"]]


async def test_a_consultant_cannot_learn_of_another_consultants_lead_by_its_phone(
    client: httpx.AsyncClient, team: Team
) -> None:
    theirs = await new_lead(client, team.bia, "Bia Lead")
    probe = await client.post(
        "/api/leads", json={"name": "Probe", "phone": theirs["phone"]}, headers=team.ana.auth
    )
    assert probe.status_code == 409
    assert theirs["id"] not in probe.text and "Bia Lead" not in probe.text


async def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_whole_family(
    client: httpx.AsyncClient,
) -> None:
    login = (
        await client.post(
            "/api/auth/login", json={"email": "admin@test.local", "password": "admin-password-123"}
        )
    ).json()
    first = login["refresh_token"]
    rotated = await client.post("/api/auth/refresh", json={"refresh_token": first})
    assert rotated.status_code == 200
    second = rotated.json()["refresh_token"]
    assert second != first and await me_status(client, rotated.json()["access_token"]) == 200

    replay = await client.post("/api/auth/refresh", json={"refresh_token": first})
    assert replay.status_code == 401 and replay.json()["error"]["code"] == "unauthorized"
    # The thief's replay also burned the legitimate holder's newer token.
    assert (
        await client.post("/api/auth/refresh", json={"refresh_token": second})
    ).status_code == 401


async def test_logout_revokes_the_refresh_token_family(client: httpx.AsyncClient) -> None:
    login = (
        await client.post(
            "/api/auth/login", json={"email": "admin@test.local", "password": "admin-password-123"}
        )
    ).json()
    out = await client.post("/api/auth/logout", json={"refresh_token": login["refresh_token"]})
    assert out.status_code == 204
    again = await client.post("/api/auth/refresh", json={"refresh_token": login["refresh_token"]})
    assert again.status_code == 401


async def test_a_deactivated_consultant_can_neither_log_in_nor_refresh(
    client: httpx.AsyncClient, team: Team
) -> None:
    email = (await client.get("/api/auth/me", headers=team.ana.auth)).json()["data"]["email"]
    session = (
        await client.post("/api/auth/login", json={"email": email, "password": "password-123"})
    ).json()
    off = await client.patch(
        f"/api/consultants/{team.ana.id}", json={"active": False}, headers=team.admin.auth
    )
    assert off.status_code == 200 and off.json()["data"]["active"] is False
    relogin = await client.post(
        "/api/auth/login", json={"email": email, "password": "password-123"}
    )
    refreshed = await client.post(
        "/api/auth/refresh", json={"refresh_token": session["refresh_token"]}
    )
    assert (relogin.status_code, refreshed.status_code) == (401, 401)


async def test_a_consultant_record_never_contains_the_password_or_its_hash(
    client: httpx.AsyncClient, team: Team
) -> None:
    listing = await client.get("/api/consultants", headers=team.admin.auth)
    me = await client.get("/api/auth/me", headers=team.ana.auth)
    for text in (listing.text, me.text):
        assert "password" not in text and "argon2" not in text


def test_revocation_holds_across_gateway_replicas_and_survives_a_restart(
    cluster_env: dict[str, str],
) -> None:
    with running_cluster(cluster_env, services=("gateway", "gateway", "leads")) as cluster:
        first, second = (replica.url for replica in cluster.processes["gateway"])
        login = httpx.post(
            f"{first}/api/auth/login", json={"email": TEST_ADMIN[0], "password": TEST_ADMIN[1]}
        ).json()
        rotated = httpx.post(
            f"{second}/api/auth/refresh", json={"refresh_token": login["refresh_token"]}
        )
        assert rotated.status_code == 200
        replay = httpx.post(
            f"{first}/api/auth/refresh", json={"refresh_token": login["refresh_token"]}
        )
        assert replay.status_code == 401

        [leads] = cluster.processes["leads"]
        assert cluster.stop(leads) == 0
        cluster.processes["leads"] = []
        cluster.start("leads")
        cluster.wait_ready()
        newest = rotated.json()["refresh_token"]
        after_restart = httpx.post(f"{second}/api/auth/refresh", json={"refresh_token": newest})
        assert after_restart.status_code == 401  # the family stayed revoked


@pytest.fixture(scope="module")
def guarded(module_cluster_env: dict[str, str]) -> Iterator[Cluster]:
    """Gateway and leads behind a trusted proxy (this test, on 127.0.0.1), with a strict
    login limit (2 at once, per address and per account) and timestamped webhooks; and a
    second gateway that trusts no proxy."""
    env = {
        **module_cluster_env,
        "FORWARDED_ALLOW_IPS": "127.0.0.1",
        "LOGIN_RATE_LIMIT_PER_MINUTE": "6",
        "WEBHOOK_REQUIRE_TIMESTAMP": "true",
    }
    with running_cluster(env, services=("gateway", "leads"), ready_timeout=600) as cluster:
        cluster.env = {**env, "FORWARDED_ALLOW_IPS": "192.0.2.1"}  # not this test's address
        cluster.start("gateway")
        cluster.wait_ready(600)
        yield cluster


async def log_in(
    http: httpx.AsyncClient, email: str, password: str, client_address: str
) -> httpx.Response:
    return await http.post(
        "/api/auth/login",
        json={"email": email, "password": password},
        headers={"X-Forwarded-For": client_address},
    )


async def test_behind_a_trusted_proxy_one_clients_bad_logins_do_not_lock_out_another(
    guarded: Cluster,
) -> None:
    async with httpx.AsyncClient(base_url=guarded.gateway, timeout=15) as http:
        guesses = [
            (await log_in(http, f"{n}@nowhere.example", "wrong-password", "198.51.100.1"))
            for n in range(3)
        ]
        assert [r.status_code for r in guesses] == [401, 401, 429]
        assert int(guesses[-1].headers["retry-after"]) >= 1
        other = await log_in(http, *TEST_ADMIN, "198.51.100.2")
        assert other.status_code == 200, other.text


async def test_failed_logins_are_throttled_per_account_whatever_address_they_come_from(
    guarded: Cluster,
) -> None:
    async with httpx.AsyncClient(base_url=guarded.gateway, timeout=15) as http:
        admin = await log_in(http, *TEST_ADMIN, "198.51.100.10")
        email = f"victim-{uuid.uuid4().hex[:6]}@example.com"
        created = await http.post(
            "/api/consultants",
            json={"name": "Vitima", "email": email, "password": "password-123"},
            headers=bearer(admin.json()["access_token"]),
        )
        assert created.status_code == 201, created.text
        rotating = [
            (await log_in(http, email, "guess", f"203.0.113.{n}")).status_code for n in range(1, 4)
        ]
        assert rotating == [401, 401, 429]
        # The guesser is slowed down on this account; other accounts are not.
        assert (await log_in(http, email, "password-123", "203.0.113.9")).status_code == 429
        assert (await log_in(http, *TEST_ADMIN, "203.0.113.9")).status_code == 200


def test_a_gateway_that_does_not_trust_the_caller_ignores_its_forwarded_header(
    guarded: Cluster,
) -> None:
    untrusting = guarded.processes["gateway"][1].url
    statuses = [
        httpx.post(
            f"{untrusting}/api/auth/login",
            json={"email": f"{n}@nowhere.example", "password": "x"},
            headers={"X-Forwarded-For": f"192.0.2.{n + 10}"},
            timeout=15,
        ).status_code
        for n in range(3)
    ]
    assert statuses == [401, 401, 429]  # a made-up address buys no fresh bucket


def signed_webhook(body: bytes, timestamp: int | None) -> dict[str, str]:
    message = body if timestamp is None else f"{timestamp}.".encode() + body
    digest = hmac.new(TEST_WEBHOOK_SECRET.encode(), message, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Signature": f"sha256={digest}"}
    if timestamp is not None:
        headers["X-Timestamp"] = str(timestamp)
    return headers


async def test_a_timestamped_webhook_is_accepted_once_and_only_while_fresh(
    client: httpx.AsyncClient,
) -> None:
    body = json.dumps({"name": "Formulario", "phone": unique_phone()}).encode()
    now = int(time.time())
    fresh = signed_webhook(body, now)
    first = await client.post("/api/webhooks/leads", content=body, headers=fresh)
    assert first.status_code == 202, first.text
    replayed = await client.post("/api/webhooks/leads", content=body, headers=fresh)
    assert replayed.status_code == 401
    stale = await client.post(
        "/api/webhooks/leads", content=body, headers=signed_webhook(body, now - 301)
    )
    assert stale.status_code == 401
    # A sender that signs the body alone keeps working until timestamps are required.
    other = json.dumps({"name": "Antigo", "phone": unique_phone()}).encode()
    legacy = await client.post(
        "/api/webhooks/leads", content=other, headers=signed_webhook(other, None)
    )
    assert legacy.status_code == 202, legacy.text


def test_with_timestamps_required_a_body_only_signature_is_refused(guarded: Cluster) -> None:
    body = json.dumps({"name": "Formulario", "phone": unique_phone()}).encode()
    url = f"{guarded.gateway}/api/webhooks/leads"
    legacy = httpx.post(url, content=body, headers=signed_webhook(body, None), timeout=15)
    assert legacy.status_code == 401
    stamped = httpx.post(
        url, content=body, headers=signed_webhook(body, int(time.time())), timeout=15
    )
    assert stamped.status_code == 202, stamped.text
