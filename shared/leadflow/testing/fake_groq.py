"""A fake Groq: an HTTP server on 127.0.0.1 speaking the OpenAI-compatible chat API.

The real `groq` client is pointed at it with GROQ_BASE_URL (it calls
`{base}/openai/v1/chat/completions`). Replies are scripted per test, or produced by a
default responder; every request is recorded.

It also answers speech-to-text, `{base}/openai/v1/audio/transcriptions` (multipart form
data, as the client's `audio.transcriptions.create` posts it). By default the transcript
is the uploaded audio's bytes read as UTF-8 — a test "records" a voice note by sending the
words as its bytes — and bytes that are not text are heard as silence (empty transcript).
"""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PATH = "/openai/v1/chat/completions"
TRANSCRIPTIONS_PATH = "/openai/v1/audio/transcriptions"


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


def transcript(text: str) -> Reply:
    """A transcription response (response_format=json) saying `text`."""
    return Reply(body={"text": text, "x_groq": {"id": "req-fake"}})


def spoken_words(request: dict[str, Any]) -> Reply:
    """The default speech-to-text: the audio's bytes are the words, when they are text."""
    try:
        return transcript(bytes(request["file"]).decode("utf-8"))
    except UnicodeDecodeError:
        return transcript("")


def parse_multipart(content_type: str, body: bytes) -> dict[str, Any]:
    """Form fields as str, the uploaded file as bytes (`file`) with `filename` and `file_type`."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"content-type: {content_type}\r\n\r\n".encode() + body
    )
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        payload = payload if isinstance(payload, bytes) else b""
        if part.get_filename() is not None:
            fields["file"] = payload
            fields["filename"] = part.get_filename()
            fields["file_type"] = part.get_content_type()
        elif isinstance(name, str):
            fields[name] = payload.decode()
    return fields


class FakeGroq:
    def __init__(self, default: Callable[[dict[str, Any]], Reply] | None = None) -> None:
        self.script: deque[Reply] = deque()
        self.default = default or (lambda request: json_answer({}))
        self.requests: list[dict[str, Any]] = []
        # speech-to-text: its own script, default responder and record
        self.transcriptions: deque[Reply] = deque()
        self.transcribe: Callable[[dict[str, Any]], Reply] = spoken_words
        self.audio_requests: list[dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            # Keep-alive, as api.groq.com does: the client's pool reuses connections.
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                if self.path == TRANSCRIPTIONS_PATH:
                    try:
                        form = parse_multipart(self.headers.get("content-type") or "", raw)
                    except (ValueError, TypeError):
                        form = {}
                    if "file" not in form or "model" not in form:
                        self._send(Reply(400, {"error": {"message": "file and model required"}}))
                        return
                    fake.audio_requests.append(form)
                    queued = fake.transcriptions
                    reply = queued.popleft() if queued else fake.transcribe(form)
                    if reply.delay:
                        time.sleep(reply.delay)
                    self._send(reply)
                    return
                request = json.loads(raw or b"{}")
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
