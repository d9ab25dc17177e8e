"""Run leadflow services as separate OS processes, as Kubernetes would, for system tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from starlette.types import ASGIApp

from leadflow.bus import Bus
from leadflow.service import SERVICE_NAMES, Service, run_services

_handed_out: set[int] = set()
# Below Linux's ephemeral range (32768-60999): outgoing connections (to the broker, the
# database) never take these ports between our check and the child's bind.
_PORTS = range(20000, 32000)


def free_port() -> int:
    """A port free now, outside the ephemeral range, and never handed out before in this
    process. The port is bound later, by the child process: two services started one
    after the other were once given the same ephemeral port, and the one that bound it
    second exited (wa-livia answered realtime's readiness check in its place)."""
    while True:
        port = random.choice(_PORTS)
        if port in _handed_out:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port


@dataclass
class RunningProcess:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@dataclass
class Cluster:
    """Every process of one system-test run; `gateway` and `realtime` URLs for clients."""

    env: dict[str, str]
    processes: dict[str, list[RunningProcess]] = field(default_factory=dict)
    log_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="leadflow-")))

    @property
    def gateway(self) -> str:
        return self.processes["gateway"][0].url

    @property
    def realtime(self) -> str:
        first = self.processes.get("realtime") or self.processes["gateway"]
        return first[0].url

    def start(self, name: str, *, command: list[str] | None = None) -> RunningProcess:
        port = free_port()
        replica = len(self.processes.get(name, []))
        log_path = self.log_dir / f"{name}-{replica}.log"
        env = dict(os.environ, **self.env, PORT=str(port))
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command or [sys.executable, "-m", "leadflow", "serve", name],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        running = RunningProcess(name, port, process, log_path)
        self.processes.setdefault(name, []).append(running)
        return running

    def wait_ready(self, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        for replicas in self.processes.values():
            for running in replicas:
                while True:
                    if running.process.poll() is not None:
                        raise RuntimeError(f"{running.name} exited:\n{running.log()[-4000:]}")
                    with contextlib.suppress(httpx.HTTPError):
                        if httpx.get(f"{running.url}/readyz", timeout=1).status_code == 200:
                            break
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"{running.name} not ready:\n{running.log()[-4000:]}")
                    time.sleep(0.1)

    def stop(self, running: RunningProcess, *, timeout: float = 30.0) -> int:
        """SIGTERM, as Kubernetes does; returns the exit code."""
        if running.process.poll() is None:
            running.process.send_signal(signal.SIGTERM)
            try:
                running.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                running.process.kill()
                running.process.wait()
        return int(running.process.returncode)

    def stop_all(self) -> None:
        for replicas in self.processes.values():
            for running in replicas:
                if running.process.poll() is None:
                    running.process.send_signal(signal.SIGTERM)
        for replicas in self.processes.values():
            for running in replicas:
                self.stop(running)

    def logs(self) -> str:
        return "\n".join(
            f"===== {r.name}:{r.port} =====\n{r.log()[-6000:]}"
            for replicas in self.processes.values()
            for r in replicas
        )


@contextlib.contextmanager
def running_cluster(
    env: dict[str, str],
    services: tuple[str, ...] = SERVICE_NAMES,
    commands: dict[str, list[str]] | None = None,
    # Generous: on a shared, busy machine a process can take a minute to import.
    ready_timeout: float = 180.0,
) -> Iterator[Cluster]:
    """Start `services` as separate processes (`commands` overrides how one is started)
    and wait until each one is ready; on failure, print their logs."""
    cluster = Cluster(env=env)
    try:
        for name in services:
            cluster.start(name, command=(commands or {}).get(name))
        cluster.wait_ready(ready_timeout)
        yield cluster
    except BaseException:
        print(cluster.logs(), file=sys.stderr)
        raise
    finally:
        cluster.stop_all()


@contextlib.asynccontextmanager
async def serving_in_process(
    services: list[Service], bus: Bus, app: ASGIApp, *, host: str = "127.0.0.1"
) -> AsyncIterator[str]:
    """`services` in this process behind `app` on a free port, as `make run` serves them:
    the base URL once /readyz answers 200; stopped when the block ends."""
    port, stop = free_port(), asyncio.Event()
    running = asyncio.create_task(run_services(services, bus, app, host=host, port=port, stop=stop))
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url) as http, asyncio.timeout(90):
            while True:
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/readyz")).status_code == 200:
                        break
                await asyncio.sleep(0.05)
        yield url
    finally:
        stop.set()
        await asyncio.wait_for(running, 60)
