"""docs/API.md names every endpoint the gateway serves, and nothing it does not."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from leadflow.bus import InMemoryBus
from leadflow.cli import build_service
from leadflow.settings import Settings

API_MD = Path(__file__).resolve().parents[4] / "docs" / "API.md"
ENDPOINT = re.compile(r"`(GET|POST|PUT|PATCH|DELETE) (/[^\s`?]*)")
# The realtime service's endpoints, and every service's ops endpoints: not in the document.
ELSEWHERE = {("GET", p) for p in ("/ws", "/api/events", "/healthz", "/readyz", "/metrics")}


def shape(path: str) -> str:
    """`/api/leads/{id}` and `/api/leads/{lead_id}` are the same route."""
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_docs_api_md_lists_exactly_the_gateways_endpoints() -> None:
    document = build_service("gateway", Settings(_env_file=None), InMemoryBus()).app.openapi()
    served = {
        (method.upper(), shape(path)) for path, item in document["paths"].items() for method in item
    }
    written = {(m, shape(p)) for m, p in ENDPOINT.findall(API_MD.read_text())} - ELSEWHERE
    assert sorted(served - written) == [], "served but not in docs/API.md"
    assert sorted(written - served) == [], "in docs/API.md but not served"


async def test_the_events_are_published_beside_docs_as_json_and_as_a_page() -> None:
    app = build_service("gateway", Settings(_env_file=None), InMemoryBus()).app
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as http:
        document = (await http.get("/asyncapi.json")).json()
        page = await http.get("/asyncapi")
        docs = (await http.get("/openapi.json")).json()
    assert document["asyncapi"] == "3.0.0"
    assert "frame.kanban.lead_created" in document["components"]["messages"]
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "AsyncApiStandalone.render" in page.text and "kanban:lead_created" in page.text
    assert "(/asyncapi)" in docs["info"]["description"]  # linked from /docs
