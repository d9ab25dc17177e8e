"""The embedded PostgreSQL server under DATA_DIR/pg (what `make run` starts), used by real
processes as `make run` uses it: one starts it, others share it, the last one stops it,
and a crash leaves nothing behind that stops the next start."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import asyncpg
import psutil
import pytest

# A process using the server as a service does: it asks for the URL, runs `sql` (if any),
# prints the URL, the server's pid and the first value of a SELECT, then holds the server
# until its standard input closes.
USER = """
import asyncio, sys
from pathlib import Path
import asyncpg
from leadflow.embedded_database import embedded_database_url

url = embedded_database_url(Path(sys.argv[1]))

async def run(sql):
    connection = await asyncpg.connect(url)
    try:
        if sql.startswith("SELECT"):
            return await connection.fetchval(sql)
        return await connection.execute(sql) if sql else None
    finally:
        await connection.close()

value = asyncio.run(run(sys.argv[2]))
pid = (Path(sys.argv[1]) / "pg" / "postmaster.pid").read_text().split()[0]
print(url, pid, value, sep="\\n", flush=True)
sys.stdin.read()
"""


class User:
    def __init__(self, data_dir: Path, sql: str = "") -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", USER, str(data_dir), sql],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()
        self.server_pid = int(self.process.stdout.readline() or 0)
        self.value = self.process.stdout.readline().strip()
        assert self.url, f"the process exited with {self.process.wait()}"

    def exit(self) -> None:
        """A clean exit, as Ctrl-C or SIGTERM gives."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        assert self.process.wait(timeout=60) == 0

    def crash(self) -> None:
        self.process.kill()
        self.process.wait()


@pytest.fixture
def users(tmp_path: Path) -> Iterator[Callable[[str], User]]:
    started: list[User] = []

    def start(sql: str = "") -> User:
        started.append(User(tmp_path, sql))
        return started[-1]

    yield start
    for user in started:
        if user.process.poll() is None:
            user.exit()


def server_running(data_dir: Path) -> bool:
    pid_file = data_dir / "pg" / "postmaster.pid"
    if not pid_file.exists():
        return False
    return psutil.pid_exists(int(pid_file.read_text().split()[0]))


def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def query(url: str, sql: str) -> object:
    async def run() -> object:
        connection = await asyncpg.connect(url)
        try:
            return await connection.fetchval(sql)
        finally:
            await connection.close()

    return asyncio.run(run())


def test_processes_share_the_server_the_last_one_stops_it_and_the_data_stays(
    tmp_path: Path, users: Callable[[str], User]
) -> None:
    first = users("CREATE TABLE notes (text text); INSERT INTO notes VALUES ('kept')")
    second = users("SELECT text FROM notes")

    assert second.server_pid == first.server_pid  # reused, not a second server
    assert second.value == "kept"
    second.exit()
    assert query(first.url, "SELECT count(*) FROM notes") == 1  # still up for the first
    first.exit()
    assert not server_running(tmp_path)

    again = users("SELECT text FROM notes")
    assert again.value == "kept"
    assert again.server_pid != first.server_pid


def test_a_crash_leaves_nothing_that_stops_the_next_start(
    tmp_path: Path, users: Callable[[str], User]
) -> None:
    crashed = users("CREATE TABLE notes (text text); INSERT INTO notes VALUES ('kept')")
    crashed.crash()  # kill -9: its exit hook never runs; the server goes on
    assert server_running(tmp_path)
    survivor = users("SELECT text FROM notes")
    assert survivor.value == "kept"
    survivor.exit()
    # The crashed process is no longer counted as a user: the last one stopped the server.
    wait_until(lambda: not server_running(tmp_path))

    # The machine crashes with the server running; after the reboot another process holds
    # the pid its postmaster.pid names (here: this test's own).
    server = users("").server_pid
    postmaster = psutil.Process(server)
    children = postmaster.children(recursive=True)
    for process in [postmaster, *children]:
        os.kill(process.pid, signal.SIGKILL)
    psutil.wait_procs([postmaster, *children], timeout=30)
    pid_file = tmp_path / "pg" / "postmaster.pid"
    lines = pid_file.read_text().split("\n")
    pid_file.write_text("\n".join([str(os.getpid()), *lines[1:]]))

    after_reboot = users("SELECT text FROM notes")
    assert after_reboot.value == "kept"
    assert after_reboot.server_pid != os.getpid()
