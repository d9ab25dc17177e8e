"""Find RabbitMQ and PostgreSQL for tests, and give each test its own slice of them.

PostgreSQL: DATABASE_URL when set, then a server listening on the default local port,
then the embedded server (`leadflow.embedded_database`, what `make run` uses) in a folder of
the system's temporary directory kept between runs; it never skips.
RabbitMQ: RABBITMQ_URL when set, then a server listening on the default local port, then
testcontainers where a Docker engine answers, else skip — except with
LEADFLOW_REQUIRE_SERVICES=1 (CI), where a missing service fails the run.
"""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

import aio_pika
import asyncpg
import pytest
from sqlalchemy.engine import make_url

from leadflow.bus.topology import ALL_ENDPOINTS, ALL_QUEUES
from leadflow.embedded_database import embedded_database_url

LOCAL_RABBITMQ = "amqp://guest:guest@127.0.0.1:5672/"
LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
# The test run's embedded server, when no other is reachable: initialised by the first
# run, started in a fraction of a second by later ones, stopped as the run ends.
EMBEDDED_TEST_DATA_DIR = Path(tempfile.gettempdir()) / "leadflow-tests"


def _listening(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def _docker_available() -> bool:
    try:
        import docker

        docker.from_env().ping()
        return True
    except Exception:
        return False


def _unavailable(what: str) -> None:
    reason = f"{what} not reachable: set its URL, run it locally, or provide Docker"
    if os.environ.get("LEADFLOW_REQUIRE_SERVICES") == "1":
        pytest.fail(reason + " (LEADFLOW_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(reason)


@contextlib.contextmanager
def rabbitmq_server() -> Iterator[str]:
    if url := os.environ.get("RABBITMQ_URL"):
        yield url
    elif _listening("127.0.0.1", 5672):
        yield LOCAL_RABBITMQ
    elif _docker_available():
        from testcontainers.community.rabbitmq import RabbitMqContainer

        with RabbitMqContainer("rabbitmq:3.13-management") as container:
            host = container.get_container_host_ip()
            port = container.get_exposed_port(container.port)
            yield f"amqp://{container.username}:{container.password}@{host}:{port}/"
    else:
        _unavailable("RabbitMQ")


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    if url := os.environ.get("DATABASE_URL"):
        yield url
    elif _listening("127.0.0.1", 5432):
        yield LOCAL_POSTGRES
    else:
        yield embedded_database_url(EMBEDDED_TEST_DATA_DIR, database=None)


def plain_postgres_url(url: str) -> str:
    """asyncpg wants `postgresql://`, without SQLAlchemy's driver suffix."""
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


async def create_database(server_url: str) -> str:
    """A new, empty database on the server; returns its URL."""
    name = f"lf_{uuid.uuid4().hex[:16]}"
    connection = await asyncpg.connect(plain_postgres_url(server_url))
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return (
        make_url(plain_postgres_url(server_url))
        .set(database=name)
        .render_as_string(hide_password=False)
    )


async def drop_database(server_url: str, database_url: str) -> None:
    name = make_url(database_url).database
    connection = await asyncpg.connect(plain_postgres_url(server_url))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def new_namespace() -> str:
    return f"t{uuid.uuid4().hex[:10]}."


async def delete_namespace(
    rabbitmq_url: str, namespace: str, *, queues: Iterable[str] = ()
) -> None:
    """Remove every durable queue and exchange a test namespace may have declared, and
    `queues` (durable queues of the caller's own, unprefixed, with their DLQs)."""
    connection = await aio_pika.connect(rabbitmq_url)
    try:
        names = [f"{namespace}{q.name}" for q in ALL_QUEUES if not q.per_replica]
        names += [f"{namespace}{name}" for name in queues]
        names += [f"{name}.dlq" for name in names]
        names += [f"{namespace}rpc.{endpoint}" for endpoint in ALL_ENDPOINTS]
        for name in names:
            channel = await connection.channel()
            with contextlib.suppress(Exception):
                await channel.queue_delete(name)
            with contextlib.suppress(Exception):
                await channel.close()
        for exchange in ("leadflow.events", "leadflow.dlx"):
            channel = await connection.channel()
            with contextlib.suppress(Exception):
                await channel.exchange_delete(f"{namespace}{exchange}")
            with contextlib.suppress(Exception):
                await channel.close()
    finally:
        await connection.close()
