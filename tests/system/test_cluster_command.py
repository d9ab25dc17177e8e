"""`leadflow cluster` (what `make cluster` runs): seven processes, prefixed logs, clean Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from leadflow.service import SERVICE_NAMES
from leadflow.testing.processes import free_port

from tests.system.flows import lead_is_classified_assigned_and_pushed


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "leadflow cluster exited early"
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} not ready")


def test_the_cluster_command_runs_every_service_and_stops_them_all_on_ctrl_c(
    cluster_env: dict[str, str], tmp_path: Path
) -> None:
    gateway, realtime, base = free_port(), free_port(), free_port() + 1000
    env = dict(
        os.environ,
        **cluster_env,
        GATEWAY_PORT=str(gateway),
        REALTIME_PORT=str(realtime),
        SERVICE_PORT_BASE=str(base),
    )
    log_path = tmp_path / "cluster.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "leadflow", "cluster"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        urls = [f"http://127.0.0.1:{p}" for p in (gateway, realtime)]
        urls += [f"http://127.0.0.1:{base + i}" for i in range(2, len(SERVICE_NAMES))]
        for url in urls:
            wait_ready(url, process)
        asyncio.run(lead_is_classified_assigned_and_pushed(urls[0], urls[1]))
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    output = log_path.read_text(errors="replace")
    assert process.returncode == 0, output[-3000:]
    prefixes = {line.split("|", 1)[0].strip() for line in output.splitlines() if "|" in line}
    assert set(SERVICE_NAMES) <= prefixes
