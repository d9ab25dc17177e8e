"""`leadflow` command: run one service, the whole system in one process, or a local cluster.

leadflow serve <service>   one service, as a container runs it (RabbitMQ + database)
leadflow embedded          every service in one process, in-process bus
leadflow cluster           every service its own OS process (RABBITMQ_URL, DATABASE_URL)
leadflow migrate <service> apply a service's migrations and exit (the Kubernetes Job)
leadflow dead-letters list|show <queue>|replay <queue> [--id ID]   (operators)

Without DATABASE_URL, each of them uses the embedded PostgreSQL server under DATA_DIR/pg
(started, or reused if another process runs it; `leadflow.embedded_database`).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import signal
import subprocess
import sys
import threading
from types import ModuleType
from typing import TYPE_CHECKING

from leadflow.asyncapi import asyncapi_document
from leadflow.bus import Bus, InMemoryBus
from leadflow.logs import configure_logging
from leadflow.service import SERVICE_NAMES, Service, default_port, path_router, run_services
from leadflow.settings import Settings

if TYPE_CHECKING:
    from leadflow.db import Migrations


def service_module(name: str) -> ModuleType:
    """The composition root of a service: `<package>.app` with `build(settings, bus)`."""
    return importlib.import_module(f"{name.replace('-', '_')}.app")


def processes_of(args: argparse.Namespace) -> list[str]:
    """The services a command runs, whose secrets must be safe before it starts."""
    if args.command == "serve":
        return [args.service]
    if args.command == "migrate":
        return ["migrate"]
    if args.command == "cluster":
        return list(args.services) or list(SERVICE_NAMES)
    return list(SERVICE_NAMES)


def build_service(name: str, settings: Settings, bus: Bus) -> Service:
    service: Service = service_module(name).build(settings, bus)
    return service


def rabbit_bus(settings: Settings) -> Bus:
    from leadflow.bus.rabbit import RabbitBus

    return RabbitBus(
        settings.rabbitmq_url,
        namespace=settings.broker_namespace,
        prefetch=settings.consumer_prefetch,
        max_deliveries=settings.max_deliveries,
        outage_retry_s=settings.outage_retry_s,
    )


def owns_tables(name: str) -> bool:
    """Whether the service keeps a database (it has migrations to run)."""
    return hasattr(service_module(name), "SCHEMA")


async def serve(name: str, settings: Settings) -> None:
    bus = rabbit_bus(settings)
    service = build_service(name, settings, bus)
    port = settings.port or default_port(name, settings)
    await run_services(
        [service],
        bus,
        service.app,
        host=settings.host,
        port=port,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )


async def embedded(settings: Settings) -> None:
    bus = InMemoryBus(
        prefetch=settings.consumer_prefetch,
        max_deliveries=settings.max_deliveries,
        outage_retry_s=settings.outage_retry_s,
    )
    services = [build_service(name, settings, bus) for name in SERVICE_NAMES]
    gateway = services[0]
    routes = [(prefix, s.app) for s in services[1:] for prefix in s.public_prefixes]
    app = path_router(routes, gateway.app)
    port = settings.port or settings.gateway_port
    await run_services(
        services,
        bus,
        app,
        host=settings.host,
        port=port,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )


async def migrate(name: str, settings: Settings) -> None:
    schema: Migrations = service_module(name).SCHEMA
    await schema.run_for(settings, name)


def console_env(settings: Settings) -> dict[str, str]:
    """Realtime listens on its own port here: the gateway tells the console where it is,
    and realtime lets the console's pages read its SSE stream (unless already set)."""
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    gateway = [f"http://{host}:{settings.gateway_port}"]
    if host == "127.0.0.1":
        gateway.append(f"http://localhost:{settings.gateway_port}")
    return {
        "REALTIME_PUBLIC_URL": settings.realtime_public_url
        or f"http://{host}:{settings.realtime_port}",
        "CONSOLE_ORIGINS": settings.console_origins or ",".join(gateway),
    }


def cluster(settings: Settings, services: list[str]) -> int:
    """Run each service as its own process; prefix their logs; stop them all on Ctrl-C."""
    processes: dict[str, subprocess.Popen[bytes]] = {}
    width = max(len(name) for name in services)
    database = {"DATABASE_URL": settings.database_url} if settings.database_url else {}
    for name in services:
        env = dict(
            os.environ, **database, **console_env(settings), PORT=str(default_port(name, settings))
        )
        processes[name] = subprocess.Popen(
            [sys.executable, "-m", "leadflow", "serve", name],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )

    def pump(name: str, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            sys.stdout.write(f"{name:<{width}} | {line.decode(errors='replace')}")
            sys.stdout.flush()

    pumps = [threading.Thread(target=pump, args=item, daemon=True) for item in processes.items()]
    for thread in pumps:
        thread.start()
    stopping = threading.Event()

    def stop_all(*_: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, stop_all)
    signal.signal(signal.SIGTERM, stop_all)
    exit_code = 0
    while not stopping.wait(0.5):
        crashed = [n for n, p in processes.items() if p.poll() is not None]
        if crashed:
            print(f"cluster: {', '.join(crashed)} exited; stopping the rest", file=sys.stderr)
            exit_code = 1
            break
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes.values():
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    for thread in pumps:
        thread.join(timeout=2)
    return exit_code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="leadflow", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="run one service")
    serve_cmd.add_argument("service", choices=SERVICE_NAMES)
    commands.add_parser("embedded", help="every service in one process")
    cluster_cmd = commands.add_parser("cluster", help="every service its own process")
    cluster_cmd.add_argument("services", nargs="*", help="default: all of them")
    migrate_cmd = commands.add_parser("migrate", help="apply a service's migrations")
    migrate_cmd.add_argument(
        "service", choices=["leads", "assignment", "wa-consultant", "wa-livia"]
    )
    commands.add_parser("asyncapi", help="print the AsyncAPI document of the broker")
    letters = commands.add_parser(
        "dead-letters", help="list, show or replay messages that failed every delivery"
    )
    letter_actions = letters.add_subparsers(dest="action", required=True)
    letter_actions.add_parser("list", help="every queue's dead letters, counted")
    show_cmd = letter_actions.add_parser("show", help="a queue's dead letters, one by one")
    show_cmd.add_argument("queue", help="e.g. assignment.requests")
    replay_cmd = letter_actions.add_parser("replay", help="send them back to their queue")
    replay_cmd.add_argument("queue", help="e.g. assignment.requests")
    replay_cmd.add_argument("--id", dest="message_id", help="only the message with this id")
    # The earlier spelling, kept for scripts: `dlq list <queue>` shows, `dlq replay` replays.
    dlq_cmd = commands.add_parser("dlq", help="same as dead-letters show/replay")
    dlq_cmd.add_argument("action", choices=["list", "replay"])
    dlq_cmd.add_argument("queue", help="e.g. leads.pipeline")
    args = parser.parse_args(argv)
    if args.command == "asyncapi":
        print(json.dumps(asyncapi_document(), indent=2))
        return 0

    try:
        settings = Settings()
        if args.command in ("serve", "embedded", "cluster", "migrate"):
            settings.refuse_unsafe_secrets(processes_of(args))
    except ValueError as exc:
        print(f"leadflow: {exc}", file=sys.stderr)
        return 2
    name = getattr(args, "service", None) or "embedded"
    if args.command in ("embedded", "cluster", "migrate") or (
        args.command == "serve" and owns_tables(name)
    ):
        settings = settings.with_embedded_database()
    if args.command == "cluster":
        return cluster(settings, list(args.services) or list(SERVICE_NAMES))
    configure_logging(name, settings.log_level)
    if args.command == "serve":
        asyncio.run(serve(args.service, settings))
    elif args.command == "embedded":
        asyncio.run(embedded(settings))
    elif args.command == "migrate":
        asyncio.run(migrate(args.service, settings))
    elif args.command in ("dead-letters", "dlq"):
        action = "show" if (args.command, args.action) == ("dlq", "list") else args.action
        return asyncio.run(
            dead_letters(
                action, getattr(args, "queue", None), getattr(args, "message_id", None), settings
            )
        )
    return 0


async def dead_letters(
    action: str, queue: str | None, message_id: str | None, settings: Settings
) -> int:
    """`leadflow dead-letters list|show|replay` (see `leadflow.deadletters`)."""
    from leadflow import deadletters
    from leadflow.bus.rabbit import RabbitBus

    if action != "list" and queue not in deadletters.durable_queues():
        known = ", ".join(deadletters.durable_queues())
        print(f"leadflow: no queue {queue!r}; the queues are: {known}", file=sys.stderr)
        return 2
    bus = rabbit_bus(settings)
    assert isinstance(bus, RabbitBus)
    try:
        if action == "list":
            await deadletters.list_dead_letters(bus, sys.stdout)
        elif action == "show":
            await deadletters.show_dead_letters(bus, str(queue), sys.stdout)
        else:
            await deadletters.replay_dead_letters(bus, str(queue), sys.stdout, message_id)
    finally:
        await bus.stop()
    return 0
