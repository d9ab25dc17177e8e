"""A fake Groq: an HTTP server on 127.0.0.1 speaking the OpenAI-compatible chat API.

The real `groq` client is pointed at it with GROQ_BASE_URL (it calls
`{base}/openai/v1/chat/completions`). Replies are scripted per test, or produced by a
default responder; every request is recorded.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PATH = "/openai/v1/chat/completions"


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # a dict is sent as JSON; a str as is
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


def completion(content: str, model: str = "fake") -> dict[str, Any]:
    """A chat-completion response whose message content is `content`."""
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": content},
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def json_answer(data: dict[str, Any]) -> Reply:
    return Reply(body=completion(json.dumps(data, ensure_ascii=False)))


class FakeGroq:
    def __init__(self, default: Callable[[dict[str, Any]], Reply] | None = None) -> None:
        self.script: deque[Reply] = deque()
        self.default = default or (lambda request: json_answer({}))
        self.requests: list[dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            # Keep-alive, as api.groq.com does: the client's pool reuses connections.
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                request = json.loads(self.rfile.read(length) or b"{}")
                if self.path != PATH:
                    self._send(Reply(404, {"error": {"message": f"no route {self.path}"}}))
                    return
                fake.requests.append(request)
                reply = fake.script.popleft() if fake.script else fake.default(request)
                if reply.delay:
                    time.sleep(reply.delay)
                self._send(reply)

            def _send(self, reply: Reply) -> None:
                body = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
                data = body.encode()
                self.send_response(reply.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                # The client may have given up already (the timeout tests).
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                return None

        class Server(ThreadingHTTPServer):
            request_queue_size = 256  # the default 5 resets connections under a burst

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeGroq:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
