"""A Groq stand-in that answers every chat completion at once, for bench.ai.

    .venv/bin/python -m bench.instant_groq PORT

Its own process, served by uvicorn: the tests' fake (a threaded http.server inside the
caller's process) is the bottleneck at a few hundred calls/s and would hide what the
service adds.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import uvicorn
from leadflow.testing.fake_groq import PATH, completion

ANSWER = {"temperature": "HOT", "score": 88, "reasons": ["income fits (+30)"]}
BODY = json.dumps(completion(json.dumps(ANSWER))).encode()


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    more_body = True
    while more_body:  # read the request to its end; its content does not matter
        more_body = bool((await receive()).get("more_body"))
    found = scope["path"] == PATH
    await send(
        {
            "type": "http.response.start",
            "status": 200 if found else 404,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": BODY if found else b"{}"})


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
