"""WhatsApp: inbound messages/s from the simulator to stored-and-indexed; chat list latency.

    .venv/bin/python -m bench.whatsapp [--messages 2000] [--chats 10000]

Messages are injected into the consultant session (as WhatsApp would deliver them) and
counted once wa-consultant has stored them; then the inbox is filled to --chats
chats and GET /api/chats is driven with wrk (loopback) at 1 and 16 connections, beside a
bare FastAPI endpoint returning a page of an in-memory list of the same shape.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

import asyncpg
from leadflow.bus.rabbit import RabbitBus
from leadflow.bus.topology import session_endpoint
from leadflow.events import SessionName
from leadflow.rpc import RpcClient
from leadflow.testing.processes import running_cluster
from leadflow.testing.services import LOCAL_RABBITMQ, plain_postgres_url

from bench.leads import UNLIMITED_RATE, bare_endpoint, have_wrk, row, run_wrk, token
from bench.scratch import scratch_sync


async def inject(client: RpcClient, start: int, count: int, concurrency: int = 64) -> None:
    limit = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with limit:
            await client.call(
                "inject", phone=f"+55219{i:08d}", text=f"mensagem {i}", push_name=f"Contato {i}"
            )

    await asyncio.gather(*(one(i) for i in range(start, start + count)))


async def stored(database: str) -> int:
    connection = await asyncpg.connect(plain_postgres_url(database))
    try:
        return int(await connection.fetchval("SELECT count(*) FROM inbox_messages"))
    finally:
        await connection.close()


async def wait_until_stored(database: str, messages: int, deadline: float) -> None:
    """Poll the inbox's messages table; a bench that never finishes tells nobody anything."""
    while True:
        count = await stored(database)
        if count >= messages:
            return
        if time.perf_counter() > deadline:
            raise TimeoutError(f"only {count} of {messages} messages were stored")
        await asyncio.sleep(0.05)


async def measure(
    cluster_gateway: str, bare_url: str, env: dict[str, str], messages: int, chats: int
) -> None:
    bus = RabbitBus(LOCAL_RABBITMQ, namespace=env["BROKER_NAMESPACE"])
    await bus.start()
    client = RpcClient(bus, session_endpoint(SessionName.CONSULTANT), timeout=30)
    try:
        started = time.perf_counter()
        await inject(client, 0, messages)
        injected = time.perf_counter() - started
        await wait_until_stored(env["DATABASE_URL"], messages, deadline=started + 600)
        elapsed = time.perf_counter() - started
        print(
            f"inbound: {messages} messages accepted in {injected:.1f} s, stored and indexed "
            f"in {elapsed:.1f} s -> {messages / elapsed:.0f} messages/s"
        )
        await inject(client, messages, chats - messages)
        # Listing is measured on a quiet system, not beside 8,000 messages being stored.
        await wait_until_stored(env["DATABASE_URL"], chats, deadline=time.perf_counter() + 600)
        bearer = await token(cluster_gateway)
        script = f'wrk.headers["Authorization"] = "Bearer {bearer}"'
        for limit in (50, 200):
            for connections in (1, 16):
                bare = run_wrk(f"{bare_url}/api/chats?limit={limit}", script, 5, connections)
                figures = run_wrk(
                    f"{cluster_gateway}/api/chats?limit={limit}", script, 8, connections
                )
                print(row(f"bare, limit={limit}, {connections} conn", bare))
                print(
                    row(
                        f"GET /api/chats limit={limit} {connections} conn",
                        figures,
                        bare["rps"],
                    )
                )
        listing = json.dumps(
            await client.call("list_chats", actor={"id": "x", "role": "admin"}, limit=1000)
        )
        print(f"(one page of 1000 chats is {len(listing) / 1024:.0f} KiB of JSON)")
    finally:
        await bus.stop()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--chats", type=int, default=10_000)
    args = parser.parse_args()
    if not have_wrk("bench.whatsapp"):
        return 2
    with scratch_sync() as sandbox, bare_endpoint() as bare_url:
        env = sandbox.env(**UNLIMITED_RATE)
        with running_cluster(env, services=("gateway", "leads", "wa-consultant")) as cluster:
            asyncio.run(measure(cluster.gateway, bare_url, env, args.messages, args.chats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
