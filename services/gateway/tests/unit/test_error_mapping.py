"""The one table from domain error codes to HTTP statuses (CONTRACT.md "Errors")."""

from __future__ import annotations

import aiormq.exceptions
import asyncpg.exceptions
import httpx
import orjson
import pytest
from fastapi import FastAPI
from leadflow.bus import InMemoryBus
from leadflow.http import CONTRACT_STATUS, install_error_handlers
from leadflow.rpc import RpcClient, ServiceError, rpc_dispatcher


def app_raising(error: Exception) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom")
    async def boom() -> None:
        raise error

    return app


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("validation_error", 400),
        ("unauthorized", 401),
        ("forbidden", 403),
        ("not_found", 404),
        ("conflict", 409),
        ("payload_too_large", 413),
        ("rate_limited", 429),
        ("unavailable", 503),
        ("internal_error", 500),
        ("something_unheard_of", 500),
    ],
)
async def test_a_service_error_code_maps_to_its_contract_status(code: str, status: int) -> None:
    app = app_raising(ServiceError("what happened", code=code, details={"k": 1}))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client:
        response = await client.get("/boom")
    expected_code = code if code in CONTRACT_STATUS else "internal_error"
    assert response.status_code == status
    assert response.json() == {
        "error": {"code": expected_code, "message": "what happened", "details": {"k": 1}}
    }


async def test_an_unexpected_exception_is_a_500_without_its_message_or_trace() -> None:
    app = app_raising(RuntimeError("SELECT secret FROM table"))
    transport = httpx.ASGITransport(app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/boom")
    assert response.status_code == 500
    assert response.json() == {"error": {"code": "internal_error", "message": "internal error"}}


async def test_fastapi_request_validation_is_a_400_naming_the_field() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/items")
    async def items(page: int) -> int:
        return page

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client:
        response = await client.get("/items", params={"page": "two"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert response.json()["error"]["message"].startswith("page: ")


async def test_unavailable_tells_the_client_when_to_retry() -> None:
    app = app_raising(ServiceError("leads did not answer in time", code="unavailable"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client:
        response = await client.get("/boom")
    assert response.status_code == 503
    assert int(response.headers["retry-after"]) >= 1


@pytest.mark.parametrize(
    "outage",
    [
        asyncpg.exceptions.CannotConnectNowError("the database system is shutting down"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
        ConnectionRefusedError("connection refused"),
        aiormq.exceptions.ConnectionClosed(320, "CONNECTION_FORCED"),
        RuntimeError("Connection was not opened"),  # aio-pika, reconnecting to a survivor
    ],
    ids=["db-shutting-down", "db-connection-lost", "refused", "broker-closed", "reconnecting"],
)
async def test_an_outage_escaping_a_route_is_a_503_with_retry_after(outage: Exception) -> None:
    app = app_raising(outage)
    transport = httpx.ASGITransport(app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/boom")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable"
    assert "retry-after" in response.headers


async def test_a_service_method_meeting_an_outage_answers_unavailable() -> None:
    async def create_lead(_: dict[str, object]) -> None:
        raise asyncpg.exceptions.AdminShutdownError("terminating connection")

    handle = rpc_dispatcher({"create_lead": create_lead})
    reply = orjson.loads(await handle(orjson.dumps({"method": "create_lead", "params": {}})))
    assert reply["ok"] is False
    assert reply["error"]["code"] == "unavailable"


async def test_a_broker_out_of_reach_makes_a_call_unavailable() -> None:
    class DownBus(InMemoryBus):
        async def request(self, endpoint: str, body: bytes, *, timeout: float) -> bytes:
            raise aiormq.exceptions.ChannelInvalidStateError("writer is None")

    with pytest.raises(ServiceError) as raised:
        await RpcClient(DownBus(), "leads", timeout=1).call("list_leads")
    assert raised.value.code == "unavailable"
