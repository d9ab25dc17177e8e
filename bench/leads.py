"""Lead creation and listing through the running gateway, beside a bare FastAPI endpoint.

    .venv/bin/python -m bench.leads [--seconds 10] [--connections 64]

Starts every service as its own process on a fresh database and broker namespace, then
drives them with wrk (a separate process on loopback) and prints requests/s and latency
percentiles, with the ratio to the bare endpoint measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

import asyncpg
import httpx
from leadflow.testing.fixtures import TEST_ADMIN
from leadflow.testing.processes import Cluster, running_cluster
from leadflow.testing.services import plain_postgres_url

from bench.scratch import scratch_sync

CREATE_SCRIPT = """
local thread_id = 0
local threads = {}
function setup(thread)
  thread:set("id", thread_id)
  thread_id = thread_id + 1
end
counter = 0
request = function()
  counter = counter + 1
  local phone = string.format("+55219%d%07d", id, counter)  -- a mobile: 9 and eight digits
  local body = string.format(
    '{"name":"Bench %d","phone":"%s","metadata":{"asset_value":300000}}', counter, phone)
  return wrk.format("POST", "/api/leads", {["Content-Type"]="application/json",
    ["Authorization"]="Bearer TOKEN"}, body)
end
"""

# The gateway's rate limit would measure itself, not the service behind it.
UNLIMITED_RATE = {"RATE_LIMIT_PER_MINUTE": "100000000", "RATE_LIMIT_BURST": "1000000"}

LATENCY = re.compile(r"^\s+(50|90|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", re.M)
RATE = re.compile(r"Requests/sec:\s+([\d.]+)")
STATUS = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")


def run_wrk(url: str, script: str, seconds: int, connections: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script)
    result = subprocess.run(
        [
            "wrk",
            f"-t{min(2, connections)}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            lua.name,
            url,
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"wrk failed: {result.stderr}{result.stdout}")
    out = result.stdout
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    figures = {f"p{p}": float(v) * scale[u] for p, v, u in LATENCY.findall(out)}
    figures["rps"] = float(RATE.search(out).group(1))  # type: ignore[union-attr]
    errors = STATUS.search(out)
    figures["errors"] = float(errors.group(1)) if errors else 0.0
    return figures


def have_wrk(benchmark: str) -> bool:
    if shutil.which("wrk") is None:
        print(f"{benchmark} needs wrk: apt-get install wrk", file=sys.stderr)
        return False
    return True


@contextlib.contextmanager
def bare_endpoint() -> Iterator[str]:
    """The baseline, bench/bare_endpoint.py, in its own process: its URL."""
    baseline = Cluster(env={})
    try:
        bare = baseline.start("bare", command=[sys.executable, "-m", "bench.bare_endpoint"])
        baseline.wait_ready()
        yield bare.url
    finally:
        baseline.stop_all()


def row(name: str, f: dict[str, float], base: float | None = None) -> str:
    ratio = f"{100 * f['rps'] / base:5.1f}%" if base else "   —  "
    return (
        f"{name:<34} {f['rps']:>8.0f} req/s  p50 {f['p50']:6.1f} ms  "
        f"p99 {f['p99']:6.1f} ms  errors {f['errors']:.0f}  vs bare {ratio}"
    )


async def token(gateway: str) -> str:
    async with httpx.AsyncClient(base_url=gateway) as client:
        response = await client.post(
            "/api/auth/login", json={"email": TEST_ADMIN[0], "password": TEST_ADMIN[1]}
        )
        return str(response.json()["access_token"])


async def wait_until_classified(database: str, timeout: float = 600) -> int:
    """Listing is measured on a quiet system: wait for the creations' pipeline to finish."""
    connection = await asyncpg.connect(plain_postgres_url(database))
    deadline = time.perf_counter() + timeout
    try:
        while True:
            total, waiting = await connection.fetchrow(
                "SELECT count(*), count(*) FILTER (WHERE temperature IS NULL) FROM leads"
            )
            if waiting == 0:
                return int(total)
            if time.perf_counter() > deadline:
                raise TimeoutError(f"{waiting} of {total} leads still unclassified")
            await asyncio.sleep(0.2)
    finally:
        await connection.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--leads-replicas", type=int, default=1)
    args = parser.parse_args()
    if not have_wrk("bench.leads"):
        return 2
    with scratch_sync() as sandbox, bare_endpoint() as bare_url:
        env = sandbox.env(**UNLIMITED_RATE, ACCESS_TOKEN_TTL="3600")
        with running_cluster(env) as cluster:
            for _ in range(args.leads_replicas - 1):
                cluster.start("leads")
            cluster.wait_ready()
            bearer = asyncio.run(token(cluster.gateway))
            script = CREATE_SCRIPT.replace("TOKEN", bearer)
            bare = run_wrk(bare_url + "/api/leads", script, args.seconds, args.connections)
            create = run_wrk(cluster.gateway + "/api/leads", script, args.seconds, args.connections)
            started = time.perf_counter()
            backlog = asyncio.run(wait_until_classified(sandbox.database))
            drained = time.perf_counter() - started
            listing_script = f'wrk.headers["Authorization"] = "Bearer {bearer}"'
            listing = run_wrk(
                cluster.gateway + "/api/leads?page_size=50",
                listing_script,
                args.seconds,
                args.connections,
            )
    print(
        f"\n{args.connections} connections, {args.seconds} s each, 2 wrk threads, "
        "every service its own process\n"
    )
    print(row("bare FastAPI endpoint (validate)", bare))
    print(row("POST /api/leads (stored, outbox)", create, bare["rps"]))
    print(
        f"{'':34} then {drained:.1f} s until the pipeline had classified all "
        f"{backlog} leads ({backlog / (args.seconds + drained):.0f} leads/s end to end)"
    )
    print(row("GET /api/leads?page_size=50", listing, bare["rps"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
