"""Telling an outage of a dependency (the database or the broker is down, restarting or
unreachable) from a failure of the work itself.

An outage passes: the same message handled again a few seconds later succeeds, so it is
retried for as long as an outage plausibly lasts, without spending the delivery budget
meant for poison messages; and a request that meets one is answered 503 `unavailable`
with `Retry-After`, not 500.
"""

from __future__ import annotations

import random
import socket

import aiormq.exceptions
import asyncpg.exceptions
import sqlalchemy.exc

# Seconds a client is told to wait before retrying a request refused during an outage.
RETRY_AFTER_S = 2

_OUTAGE_TYPES: tuple[type[BaseException], ...] = (
    # PostgreSQL: connection lost or refused, or the server shutting down or starting up.
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.TooManyConnectionsError,
    # A connection that met the server's goodbye mid-statement can be left waiting for an
    # answer that never comes ("another operation is in progress"): dropped, tried anew.
    asyncpg.exceptions.InternalClientError,
    # SQLAlchemy's pool: no connection to be had in time.
    sqlalchemy.exc.TimeoutError,
    # The broker: connection lost, channel gone with it, a publish it could not confirm.
    aiormq.exceptions.AMQPConnectionError,
    aiormq.exceptions.ChannelInvalidStateError,
    aiormq.exceptions.DeliveryError,
    # Sockets: refused, reset, unresolvable, timed out.
    ConnectionError,
    socket.gaierror,
    TimeoutError,
)


# aio-pika says a connection is reconnecting (its node died) with a bare RuntimeError.
_BROKER_RECONNECTING = ("connection was not opened", "connection closed", "channel closed")


def is_outage(exc: BaseException) -> bool:
    """True if `exc`, or an exception it was raised from, says a dependency is out of
    reach (as opposed to a bug, or a message that cannot be handled)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _OUTAGE_TYPES):
            return True
        if isinstance(current, asyncpg.exceptions.InterfaceError) and "connection is closed" in str(
            current
        ):
            return True
        if isinstance(current, sqlalchemy.exc.DBAPIError) and current.connection_invalidated:
            return True
        if type(current) is RuntimeError and str(current).lower().startswith(_BROKER_RECONNECTING):
            return True
        current = current.__cause__ or current.__context__
    return False


def outage_delay_s(attempt: int, *, base: float = 0.2, cap: float = 3.0) -> float:
    """Jittered backoff between tries of work that met an outage (attempt 1, 2, ...)."""
    return float(min(cap, base * 2 ** (attempt - 1)) * (0.5 + random.random() / 2))
