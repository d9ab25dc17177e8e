"""Baseline: a bare `websockets` server broadcasting each payload it is told to send."""

from __future__ import annotations

import asyncio
import os

from websockets.asyncio.server import ServerConnection, broadcast, serve


async def main() -> None:
    clients: set[ServerConnection] = set()

    async def handler(connection: ServerConnection) -> None:
        if connection.request is not None and connection.request.path.startswith("/trigger"):
            async for payload in connection:
                broadcast(clients, payload)
            return
        clients.add(connection)
        try:
            await connection.wait_closed()
        finally:
            clients.discard(connection)

    async with serve(
        handler, "127.0.0.1", int(os.environ["PORT"]), compression=None, max_queue=None
    ):
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main())
