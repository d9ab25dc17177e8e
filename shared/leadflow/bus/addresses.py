"""A broker that is a cluster: a list of node addresses, and connections that move to
another node when theirs is lost.

`RABBITMQ_URL` may list several nodes of one cluster, comma-separated
(`amqp://u:p@rabbit-0:5672/,amqp://u:p@rabbit-1:5672/`). aio-pika reconnects to the one
address it was given; `FailoverConnection` tries the next one whenever a connection
attempt fails, so a client whose node died reconnects to a survivor within a second.
"""

from __future__ import annotations

from typing import Any

from aio_pika import RobustConnection
from aio_pika.exceptions import CONNECTION_EXCEPTIONS
from yarl import URL

# Seconds between reconnection attempts (aio-pika's default is 5: lost messages would
# wait that long for a node that is up).
RECONNECT_INTERVAL_S = 1.0


def broker_addresses(url: str) -> tuple[str, ...]:
    """The node URLs of a comma-separated `RABBITMQ_URL`, in order."""
    addresses = tuple(part.strip() for part in url.split(",") if part.strip())
    if not addresses:
        raise ValueError("RABBITMQ_URL names no broker")
    return addresses


class FailoverConnection(RobustConnection):
    """A robust connection over several nodes: each connection attempt, the first as
    well as each after a loss, tries every address in turn, starting with the last one
    that worked."""

    addresses: tuple[str, ...] = ()
    current: int = 0  # index of the address last tried

    async def _RobustConnection__connect_transport(self) -> None:
        # aio-pika's private step that (re)connects the transport to `self.url`.
        connect = RobustConnection._RobustConnection__connect_transport  # type: ignore[attr-defined]
        addresses = self.addresses or (str(self.url),)
        failure: BaseException | None = None
        for offset in range(len(addresses)):
            index = (self.current + offset) % len(addresses)
            self.current, self.url = index, URL(addresses[index])
            try:
                await connect(self)
                return
            except CONNECTION_EXCEPTIONS as exc:
                failure = exc
        assert failure is not None
        raise failure


def failover_class(addresses: tuple[str, ...]) -> type[FailoverConnection]:
    """A `FailoverConnection` class over `addresses`, for `connect_robust(connection_class=)`."""
    return type("FailoverConnection", (FailoverConnection,), {"addresses": addresses})


def connection_options(addresses: tuple[str, ...]) -> dict[str, Any]:
    """Keyword arguments of `aio_pika.connect_robust` for a connection over `addresses`."""
    return {
        "url": addresses[0],
        "connection_class": failover_class(addresses),
        "reconnect_interval": RECONNECT_INTERVAL_S,
    }
