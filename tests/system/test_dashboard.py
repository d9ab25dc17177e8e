"""GET /api/dashboard: the numbers a manager reads, and a consultant sees only their own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from leadflow.testing.processes import Cluster

from tests.system.flows import bearer, create_consultant, login, login_admin, unique_phone


async def test_the_dashboard_counts_the_funnel_consultants_and_first_contact(
    cluster: Cluster,
) -> None:
    async with httpx.AsyncClient(base_url=cluster.gateway, timeout=15) as client:
        admin = await login_admin(client)
        suffix = unique_phone()[-6:]
        ana = await create_consultant(client, admin, "Ana", email=f"ana{suffix}@example.com")
        bia = await create_consultant(client, admin, "Bia", email=f"bia{suffix}@example.com")
        ana_token = await login(client, ana["email"], "password-123")
        bia_token = await login(client, bia["email"], "password-123")
        since = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()

        # Ana creates two leads (hers) and works one; Bia creates one; the admin one
        # (unassigned here: no assignment service runs in this module).
        leads = []
        for token, name in ((ana_token, "Lead A1"), (ana_token, "Lead A2"), (bia_token, "Lead B1")):
            response = await client.post(
                "/api/leads", json={"name": name, "phone": unique_phone()}, headers=bearer(token)
            )
            assert response.status_code == 201, response.text
            leads.append(response.json()["data"])
        unassigned = await client.post(
            "/api/leads", json={"name": "Lead X", "phone": unique_phone()}, headers=bearer(admin)
        )
        assert unassigned.status_code == 201
        first = leads[0]
        for status, version in (("CONTACTED", first["version"]), ("WON", first["version"] + 1)):
            moved = await client.patch(
                f"/api/leads/{first['id']}",
                json={"status": status, "version": version},
                headers=bearer(ana_token),
            )
            assert moved.status_code == 200, moved.text

        everyone = await client.get(
            "/api/dashboard", params={"since": since}, headers=bearer(admin)
        )
        assert everyone.status_code == 200, everyone.text
        data = everyone.json()["data"]
        assert data["scope"] == "all" and data["total"] == 4
        assert data["by_status"] == {
            "NEW": 3, "QUALIFYING": 0, "QUALIFIED": 0, "CONTACTED": 0, "PROPOSAL": 0,
            "WON": 1, "LOST": 0,
        }  # fmt: skip
        assert data["by_temperature"]["unclassified"] == 4  # no ai service in this module
        assert data["unassigned"] == 1
        rows = {row["name"]: row for row in data["consultants"]}
        assert (rows["Ana"]["assigned"], rows["Ana"]["open"], rows["Ana"]["won"]) == (2, 1, 1)
        assert (rows["Bia"]["assigned"], rows["Bia"]["open"], rows["Bia"]["won"]) == (1, 1, 0)
        contact = data["first_contact"]
        assert contact["contacted"] == 1 and contact["waiting"] == 3
        assert 0 <= contact["median_seconds"] < 60
        assert data["livia"] == {"conversations": 0, "completed": 0, "completion_rate": None}

        own = await client.get("/api/dashboard", params={"since": since}, headers=bearer(bia_token))
        assert own.status_code == 200, own.text
        mine = own.json()["data"]
        assert mine["scope"] == "own" and mine["total"] == 1
        assert [row["name"] for row in mine["consultants"]] == ["Bia"]
        assert mine["by_status"]["NEW"] == 1 and mine["by_status"]["WON"] == 0
        assert mine["first_contact"]["contacted"] == 0 and mine["unassigned"] == 0


async def test_the_dashboard_needs_a_login_and_a_valid_since(cluster: Cluster) -> None:
    async with httpx.AsyncClient(base_url=cluster.gateway, timeout=15) as client:
        assert (await client.get("/api/dashboard")).status_code == 401
        admin = await login_admin(client)
        bad = await client.get(
            "/api/dashboard", params={"since": "yesterday"}, headers=bearer(admin)
        )
        assert bad.status_code == 400
        assert bad.json()["error"]["code"] == "validation_error"
