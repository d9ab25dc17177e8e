"""CPU time of the processes a benchmark drives, read from /proc (Linux)."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from leadflow.testing.processes import Cluster


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far; 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pids(pattern: str) -> list[int]:
    found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()]


def cpu_seconds_of(groups: dict[str, list[int]]) -> dict[str, float]:
    """Each group's CPU so far (its processes' together)."""
    return {name: sum(map(_cpu_seconds, pids)) for name, pids in groups.items()}


def backends_of(database_url: str) -> list[int]:
    """The PostgreSQL backends serving that database now (their titles name it)."""
    return _pids(f"postgres: .* {database_url.rsplit('/', 1)[1]} ")


def _processes(cluster: Cluster) -> dict[str, list[int]]:
    """Each service (replicas together), the broker and the database server."""
    groups = {
        name: [running.process.pid for running in replicas]
        for name, replicas in cluster.processes.items()
    }
    groups["rabbitmq"] = _pids("beam.smp")
    groups["postgresql"] = _pids("postgres")
    return groups


SERVICE_PREFIX = "service:"  # before a service's name among the other process groups


def process_groups(cluster: Cluster, database: str) -> dict[str, list[int]]:
    """Each service (replicas together, its name after SERVICE_PREFIX), the broker, and the
    backends of `database` alone."""
    return {
        **{
            f"{SERVICE_PREFIX}{service}": [r.process.pid for r in replicas]
            for service, replicas in cluster.processes.items()
        },
        "rabbitmq": _pids("beam.smp"),
        "postgresql": backends_of(database),
    }


@dataclass(frozen=True)
class Window:
    """The CPU seconds each process group used over one window of `seconds`."""

    seconds: float
    cpu: dict[str, float]


@contextmanager
def measured(groups: dict[str, list[int]], into: list[Window]) -> Iterator[None]:
    """Appends to `into` the window of the block: how long it took, each group's CPU."""
    started, before = time.monotonic(), cpu_seconds_of(groups)
    yield
    after = cpu_seconds_of(groups)
    into.append(Window(time.monotonic() - started, {n: after[n] - before[n] for n in groups}))


@contextmanager
def cpu_per_item(cluster: Cluster, split: dict[str, float]) -> Iterator[None]:
    """Fills `split` with the CPU seconds each process group used during the block;
    divide by the items processed for a per-item cost."""
    windows: list[Window] = []
    with measured(_processes(cluster), windows):
        yield
    split.update(windows[0].cpu)


def cpu_report(split: dict[str, float], items: int) -> str:
    per_item = {name: 1000 * seconds / items for name, seconds in split.items()}
    parts = ", ".join(f"{name} {ms:.1f}" for name, ms in sorted(per_item.items()))
    return f"{'':34} CPU per lead: {sum(per_item.values()):.1f} ms ({parts})"


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) CPU time of the whole machine so far, every core, in clock ticks."""
    fields = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return sum(fields) - idle, sum(fields)
