"""A lean HTTP/1.1 client for a benchmark's own load: JSON requests on kept-alive
connections, a connection taken and given back in O(1).

httpx's pool walks every connection on every request (httpcore's
`_assign_requests_to_connections`, a socket poll each). An open loop against a server that
falls behind opens hundreds of connections, and then the client is what the benchmark
measures: at 80 leads/s, 88% of the benchmark process's samples (py-spy) were in httpx, its
event loop lagged up to a second, and the POST p50 it printed was 2.7 s while the gateway
spent 0.5 s on the median request.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any
from urllib.parse import urlsplit

import orjson

# uvicorn closes a connection idle for 5 s (its `timeout_keep_alive`): one idle longer than
# this is not reused, so a request never races the server's close.
IDLE_REUSE_S = 4.0


class RequestFailed(Exception):
    """No 2xx answer: a status >= 300, a broken connection, or no answer in time."""


class LeanClient:
    def __init__(self, base_url: str, *, timeout: float = 30.0) -> None:
        url = urlsplit(base_url)
        self.host = url.hostname or "127.0.0.1"
        self.port = url.port or 80
        self.timeout = timeout
        self._idle: list[tuple[float, asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def post(self, path: str, body: Any, headers: dict[str, str]) -> Any:
        """The JSON of a 2xx answer to POST `path`; `RequestFailed` otherwise."""
        payload = orjson.dumps(body)
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        request = (
            f"POST {path} HTTP/1.1\r\nhost: {self.host}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(payload)}\r\n{head}\r\n"
        ).encode() + payload
        writer: asyncio.StreamWriter | None = None
        try:
            async with asyncio.timeout(self.timeout):
                reader, writer = await self._connection()
                writer.write(request)
                status, reply, keep = await _response(reader)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
            if writer is not None:
                writer.close()
            raise RequestFailed(f"POST {path}: {type(exc).__name__} {exc}") from exc
        if keep:
            self._idle.append((time.monotonic(), reader, writer))
        else:
            writer.close()
        if not 200 <= status < 300:
            raise RequestFailed(f"POST {path}: {status} {reply[:200]!r}")
        return orjson.loads(reply)

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        while self._idle:
            since, reader, writer = self._idle.pop()
            if time.monotonic() - since < IDLE_REUSE_S and not reader.at_eof():
                return reader, writer
            writer.close()
        return await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        for _, _, writer in self._idle:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        self._idle.clear()


async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Status and body of one response with a content-length (as uvicorn sends JSON), and
    whether the connection stays open."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" not in headers:
        raise ValueError("a response without content-length")
    body = await reader.readexactly(int(headers["content-length"]))
    return status, body, headers.get("connection", "").lower() != "close"
