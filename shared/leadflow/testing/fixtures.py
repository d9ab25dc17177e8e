"""pytest fixtures: real RabbitMQ and PostgreSQL, one database and namespace per test."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import pytest

from leadflow.testing.services import (
    create_database,
    delete_namespace,
    drop_database,
    new_namespace,
    postgres_server,
    rabbitmq_server,
)

TEST_JWT_SECRET = "test-jwt-secret-that-is-long-enough-0123456789"
TEST_WEBHOOK_SECRET = "test-webhook-secret"
TEST_ADMIN = ("admin@test.local", "admin-password-123")


@pytest.fixture(scope="session")
def rabbitmq_url() -> Iterator[str]:
    with rabbitmq_server() as url:
        yield url


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture
async def database_url(postgres_server_url: str) -> AsyncIterator[str]:
    """A fresh PostgreSQL database for this test alone."""
    url = await create_database(postgres_server_url)
    yield url
    await drop_database(postgres_server_url, url)


@pytest.fixture
async def namespace(rabbitmq_url: str) -> AsyncIterator[str]:
    """A broker prefix for this test alone; its queues and exchanges go afterwards."""
    prefix = new_namespace()
    yield prefix
    await delete_namespace(rabbitmq_url, prefix)


@pytest.fixture
def cluster_env(rabbitmq_url: str, database_url: str, namespace: str) -> dict[str, str]:
    """Environment for service processes of one system test."""
    return service_env(rabbitmq_url, database_url, namespace)


@pytest.fixture(scope="module")
def module_cluster_env(rabbitmq_url: str, postgres_server_url: str) -> Iterator[dict[str, str]]:
    """Like `cluster_env`, shared by the tests of one module (each uses its own data)."""
    with isolated_env(rabbitmq_url, postgres_server_url) as env:
        yield env


@contextlib.contextmanager
def isolated_env(rabbitmq_url: str, postgres_server_url: str) -> Iterator[dict[str, str]]:
    """Service processes' environment with a database and a broker namespace of their own,
    removed afterwards: for a second cluster in one module."""
    database = asyncio.run(create_database(postgres_server_url))
    prefix = new_namespace()
    try:
        yield service_env(rabbitmq_url, database, prefix)
    finally:
        asyncio.run(delete_namespace(rabbitmq_url, prefix))
        asyncio.run(drop_database(postgres_server_url, database))


def service_env(rabbitmq_url: str, database_url: str, namespace: str) -> dict[str, str]:
    return {
        "RABBITMQ_URL": rabbitmq_url,
        "DATABASE_URL": database_url,
        "BROKER_NAMESPACE": namespace,
        "JWT_SECRET": TEST_JWT_SECRET,
        "WEBHOOK_SECRET": TEST_WEBHOOK_SECRET,
        "ADMIN_EMAIL": TEST_ADMIN[0],
        "ADMIN_PASSWORD": TEST_ADMIN[1],
        "WHATSAPP_TRANSPORT": "simulator",
        "LIVIA_TYPING_DELAY_MS": "0",
        "LIVIA_DEBOUNCE_MS": "0",
        "GROQ_API_KEY": "",
        # argon2 at its lowest: system tests log many people in; production refuses this.
        "PASSWORD_HASH_TIME_COST": "1",
        "PASSWORD_HASH_MEMORY_KIB": "1024",
        "LOG_LEVEL": "INFO",
        # Four services own tables now: at the default 20 connections each, a system test's
        # processes and the next test's could outgrow PostgreSQL's default 100.
        "DB_POOL_SIZE": "8",
        # Every test logs in from 127.0.0.1; the login limit has its own test.
        "LOGIN_RATE_LIMIT_PER_MINUTE": "6000",
        "RATE_LIMIT_PER_MINUTE": "60000",
        "RATE_LIMIT_BURST": "5000",
    }
