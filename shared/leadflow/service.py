"""What every service is at run time, and how a process runs one or many of them.

A service is built by its composition root (`<service>.app:build(settings, bus)`) into a
`Service`: an HTTP app (ops endpoints, plus the public API for the gateway and realtime),
hooks to run before and after the bus starts, and hooks to run on stop. Standalone,
embedded and test processes run the same `Service` objects; only the bus differs.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from leadflow.bus import Bus
from leadflow.http import HttpMetrics
from leadflow.settings import Settings

log = logging.getLogger(__name__)

Hook = Callable[[], Awaitable[None]]

# Default HTTP ports; PORT overrides the port of a service run alone.
SERVICE_NAMES = (
    "gateway",
    "realtime",
    "leads",
    "assignment",
    "ai",
    "wa-consultant",
    "wa-livia",
)


def default_port(name: str, settings: Settings) -> int:
    if name == "gateway":
        return settings.gateway_port
    if name == "realtime":
        return settings.realtime_port
    return settings.service_port_base + SERVICE_NAMES.index(name)


@dataclass
class Service:
    name: str
    app: FastAPI
    before_bus: list[Hook] = field(default_factory=list)
    after_bus: list[Hook] = field(default_factory=list)
    # Run as soon as the stop signal arrives, before HTTP stops: say goodbye to
    # clients, stop producing (outbox relays) ...
    before_stop: list[Hook] = field(default_factory=list)
    # ... and after it has drained (close pools and files).
    on_stop: list[Hook] = field(default_factory=list)
    # Path prefixes this service serves publicly when services share one port (embedded).
    public_prefixes: tuple[str, ...] = ()
    # What a person opens, announced once HTTP is up: {"API docs": "/docs"}.
    entry_points: dict[str, str] = field(default_factory=dict)


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the runner decides when to stop."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.listening = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets)
        if self.started:
            self.listening.set()


class QuietWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets-sansio protocol without its two noisy log lines per socket.

    A handshake the app refuses with an HTTP response (401 for a bad token) is complete
    once that response is out; uvicorn logged each one as an error ("ASGI callable
    returned without completing handshake"). And it logged every handshake at info with
    its query string, which carries the access token: the app logs what matters itself.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Warnings and errors only, for uvicorn's lines and the websockets library's.
        self.logger = self.conn.logger = _HANDSHAKE_LOG
        self.conn.debug = False

    async def send(self, message: Message) -> None:  # type: ignore[override]
        await super().send(message)  # type: ignore[arg-type]
        if message["type"] == "websocket.http.response.body" and not message.get("more_body"):
            self.handshake_complete = True  # refused, and that answer is sent


_HANDSHAKE_LOG = logging.getLogger("uvicorn.error.websocket")
_HANDSHAKE_LOG.setLevel(logging.WARNING)


def path_router(routes: Sequence[tuple[str, ASGIApp]], default: ASGIApp) -> ASGIApp:
    """One ASGI app that sends each request to the first app whose prefix matches."""

    async def route(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        for prefix, app in routes:
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                await app(scope, receive, send)
                return
        await default(scope, receive, send)

    return route


def quiet_garbage_collector() -> None:
    """Make full collections rare: each walks every live object, which with a thousand
    open sockets stalled realtime for ~110 ms (bench.realtime at 1,000 clients: p99 137 ms
    with the defaults, 38 ms with this; bare broadcast 36 ms).

    What start-up built (modules, app, pools) lives as long as the process: it is frozen
    out of collection. Young collections stay small and frequent (a large young
    generation doubled bench.ai's p99 instead); only the full one waits 100x longer.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(700, 10, 1000)


async def run_services(
    services: list[Service],
    bus: Bus,
    app: ASGIApp,
    *,
    host: str,
    port: int,
    forwarded_allow_ips: str = "",
    stop: asyncio.Event | None = None,
) -> None:
    """Start services and bus, serve HTTP until SIGINT/SIGTERM (or `stop`), then drain.

    Stop order: `before_stop` hooks (realtime closes sockets with 1001, relays stop);
    HTTP stops taking requests and finishes those in flight; the bus stops consuming and
    waits for running handlers (unfinished messages return to the broker); then each
    service closes its resources.
    """
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    for service in services:
        for hook in service.before_bus:
            await hook()
    await bus.start()
    started: list[Service] = []
    started_hooks_done = False
    try:
        for service in services:
            for hook in service.after_bus:
                await hook()
            started.append(service)
        quiet_garbage_collector()
        server = _Server(
            uvicorn.Config(
                HttpMetrics(app),
                host=host,
                port=port,
                log_config=None,
                access_log=False,
                lifespan="off",
                ws=QuietWebSocketProtocol,
                # X-Forwarded-For names the client only when a configured proxy sent it;
                # uvicorn's own default trusts 127.0.0.1, so any local caller could pick
                # its own address (and its own rate-limit bucket).
                proxy_headers=bool(forwarded_allow_ips.strip()),
                forwarded_allow_ips=forwarded_allow_ips.strip() or [],
                timeout_graceful_shutdown=15,
            )
        )
        serving = asyncio.create_task(server.serve())
        stopping = asyncio.create_task(stop.wait())
        announcing = asyncio.create_task(_announce(server, services, host, port))
        await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
        announcing.cancel()
        await _run_hooks(hook for service in reversed(started) for hook in service.before_stop)
        started_hooks_done = True
        server.should_exit = True
        await serving
        stopping.cancel()
        if not server.started:
            raise RuntimeError(f"could not serve HTTP on {host}:{port}")
    finally:
        if not started_hooks_done:
            await _run_hooks(hook for service in reversed(started) for hook in service.before_stop)
        await bus.stop()
        for service in reversed(services):
            for hook in service.on_stop:
                with contextlib.suppress(Exception):
                    await hook()
        log.info("stopped")


async def _announce(server: _Server, services: list[Service], host: str, port: int) -> None:
    """Once HTTP answers, say where to go: one line per entry point of every service."""
    await server.listening.wait()
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    for service in services:
        for label, path in service.entry_points.items():
            scheme = "ws" if path == "/ws" else "http"
            log.info("%s: %s://%s:%d%s", label, scheme, shown, port, path)


async def _run_hooks(hooks: Iterable[Hook]) -> None:
    for hook in hooks:
        try:
            await hook()
        except Exception:
            log.exception("stop hook failed")
