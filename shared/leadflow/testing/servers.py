"""Database and broker servers of a test's own, so that it may restart or kill them.

The shared PostgreSQL (5432) and RabbitMQ (5672) are never restarted by a test; fault
tests start these instead: a throwaway PostgreSQL cluster (`initdb`/`pg_ctl`, run as an
unprivileged user when we are root) and a RabbitMQ cluster of three nodes on their own
ports, node names, data directories and Erlang cookie.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from leadflow.testing.processes import free_port

RABBITMQ_BIN = Path("/usr/lib/rabbitmq/bin")


def postgres_bin() -> Path | None:
    """The directory of `initdb` and `pg_ctl`, if a PostgreSQL server is installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


def rabbitmq_installed() -> bool:
    return (RABBITMQ_BIN / "rabbitmq-server").exists()


def _unprivileged_user() -> str | None:
    """PostgreSQL refuses to run as root: as root, run it as `postgres` (or `nobody`)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise RuntimeError("running as root and no unprivileged user to run PostgreSQL")


@dataclass
class OwnPostgres:
    """A PostgreSQL cluster in a temporary directory, on its own port."""

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="lf-pg-")))
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str, timeout: float = 60) -> None:
        binary = postgres_bin()
        if binary is None:
            raise RuntimeError("no PostgreSQL server installed (initdb, pg_ctl)")
        # Output to a file, never a pipe: the server pg_ctl starts would inherit the pipe
        # and keep it open, and we would wait for its end forever.
        with (self.root / "pg_ctl.log").open("ab") as log:
            subprocess.run(
                [str(binary / command[0]), *command[1:]],
                check=True,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                user=_unprivileged_user(),
                cwd=self.root,
            )

    def start(self) -> None:
        data = self.root / "data"
        if not data.exists():
            user = _unprivileged_user()
            if user:
                shutil.chown(self.root, user)
            self._run("initdb", "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync")
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=300 -c shared_buffers=32MB"
        )
        self._run(
            "pg_ctl", "-D", str(data), "-o", options, "-l", str(self.root / "log"), "-w", "start"
        )

    def restart(self, mode: str = "fast") -> None:
        """`pg_ctl restart -m fast`: every connection is cut, the server back in ~1 s."""
        self._run(
            "pg_ctl",
            "-D",
            str(self.root / "data"),
            "-l",
            str(self.root / "log"),
            "-m",
            mode,
            "-w",
            "restart",
        )

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, RuntimeError):
            self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def own_postgres() -> Iterator[OwnPostgres]:
    server = OwnPostgres()
    try:
        server.start()
        yield server
    finally:
        server.remove()


@dataclass
class RabbitNode:
    name: str
    port: int
    dist_port: int
    home: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    @property
    def base(self) -> Path:
        return self.home / self.name.split("@")[0]

    def env(self) -> dict[str, str]:
        return dict(
            os.environ,
            HOME=str(self.home),
            RABBITMQ_NODENAME=self.name,
            RABBITMQ_NODE_PORT=str(self.port),
            RABBITMQ_DIST_PORT=str(self.dist_port),
            RABBITMQ_MNESIA_BASE=str(self.base / "mnesia"),
            RABBITMQ_LOG_BASE=str(self.base / "log"),
            RABBITMQ_PID_FILE=str(self.base / "pid"),
            RABBITMQ_CONFIG_FILE=str(self.base / "rabbitmq.conf"),
            RABBITMQ_CONF_ENV_FILE=str(self.home / "rabbitmq-env.conf"),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(self.home / "enabled_plugins"),
            RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}",
            ERL_EPMD_ADDRESS="127.0.0.1",
        )

    def start(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        (self.base / "rabbitmq.conf").write_text(
            f"listeners.tcp.1 = 127.0.0.1:{self.port}\n"
            "loopback_users = none\n"
            "queue_leader_locator = balanced\n"
            "cluster_partition_handling = pause_minority\n"
        )
        with (self.base / "console.log").open("ab") as log:
            self.process = subprocess.Popen(
                [str(RABBITMQ_BIN / "rabbitmq-server")],
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def ctl(self, *args: str, timeout: float = 120) -> str:
        result = subprocess.run(
            [str(RABBITMQ_BIN / "rabbitmqctl"), "-n", self.name, *args],
            env=self.env(),
            capture_output=True,
            timeout=timeout,
            check=True,
        )
        return result.stdout.decode(errors="replace")

    def wait_started(self, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.ctl("await_startup", "--timeout", "30", timeout=40)
                return
            except subprocess.SubprocessError:
                if self.process is not None and self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited") from None
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def kill(self) -> None:
        """kill -9 of the node's Erlang VM: no goodbye to clients or peers."""
        with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
            os.kill(int((self.base / "pid").read_text().strip()), signal.SIGKILL)
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
            self.process = None


@dataclass
class RabbitCluster:
    """Three (or `size`) RabbitMQ nodes joined as one cluster, on ports of their own."""

    size: int = 3
    home: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="lf-rabbit-")))
    nodes: list[RabbitNode] = field(default_factory=list)

    def __post_init__(self) -> None:
        tag = uuid.uuid4().hex[:6]
        self.nodes = [
            RabbitNode(f"lf{tag}n{i + 1}@localhost", free_port(), free_port(), self.home)
            for i in range(self.size)
        ]

    @property
    def url(self) -> str:
        """Every node's address, comma-separated, as RABBITMQ_URL takes them."""
        return ",".join(node.url for node in self.nodes)

    def start(self) -> None:
        cookie = self.home / ".erlang.cookie"
        cookie.write_text(uuid.uuid4().hex)
        cookie.chmod(0o400)
        (self.home / "rabbitmq-env.conf").write_text("")
        (self.home / "enabled_plugins").write_text("[].\n")
        for node in self.nodes:
            node.start()
        for node in self.nodes:
            node.wait_started()
        first = self.nodes[0]
        for node in self.nodes[1:]:
            node.ctl("stop_app")
            node.ctl("join_cluster", first.name)
            node.ctl("start_app")
            node.wait_started()

    def kill(self, index: int) -> None:
        self.nodes[index].kill()

    def restart(self, index: int) -> None:
        """Start a killed node again; it rejoins the cluster from its own data."""
        node = self.nodes[index]
        node.start()
        node.wait_started()

    def running_nodes(self) -> str:
        return self.nodes[0].ctl("cluster_status")

    def remove(self) -> None:
        for node in self.nodes:
            node.kill()
        shutil.rmtree(self.home, ignore_errors=True)


@contextlib.contextmanager
def rabbitmq_cluster(size: int = 3) -> Iterator[RabbitCluster]:
    cluster = RabbitCluster(size)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()
