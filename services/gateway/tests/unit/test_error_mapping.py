"""The one table from domain error codes to HTTP statuses (CONTRACT.md "Errors")."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from leadflow.http import CONTRACT_STATUS, install_error_handlers
from leadflow.rpc import ServiceError


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
