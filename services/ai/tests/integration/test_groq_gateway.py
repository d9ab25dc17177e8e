"""The real groq client against a fake Groq server: every path of the gateway."""

from __future__ import annotations

from ai.groq_gateway import CircuitBreaker, GroqJson
from leadflow.testing.fake_groq import FakeGroq, Reply, completion, json_answer
from pydantic import BaseModel


class Answer(BaseModel):
    temperature: str
    score: int


def gateway(fake: FakeGroq, **kwargs: object) -> GroqJson:
    return GroqJson(api_key="test", base_url=fake.base_url, model="llama-test", **kwargs)  # type: ignore[arg-type]


async def test_a_valid_json_answer_is_returned_validated(fake: FakeGroq) -> None:
    fake.script.append(json_answer({"temperature": "HOT", "score": 91}))
    answer = await gateway(fake).ask("test", "system", "user", Answer)
    assert answer == Answer(temperature="HOT", score=91)
    [request] = fake.requests
    assert request["model"] == "llama-test"
    assert request["response_format"] == {"type": "json_object"}
    assert request["temperature"] <= 0.3


async def test_malformed_json_is_asked_again_once_then_left_to_the_fallback(fake: FakeGroq) -> None:
    fake.script.extend(
        [Reply(body=completion("not json {")), json_answer({"temperature": "COLD", "score": 10})]
    )
    assert await gateway(fake).ask("test", "s", "u", Answer) == Answer(temperature="COLD", score=10)
    fake.script.extend([Reply(body=completion("nope")), Reply(body=completion("still nope"))])
    assert await gateway(fake).ask("test", "s", "u", Answer) is None
    assert len(fake.requests) == 4


async def test_a_wrong_schema_counts_as_invalid(fake: FakeGroq) -> None:
    fake.script.extend([json_answer({"temperature": "HOT"}), json_answer({"score": "high"})])
    assert await gateway(fake).ask("test", "s", "u", Answer) is None


async def test_a_429_is_retried_after_retry_after_then_answered(fake: FakeGroq) -> None:
    fake.script.extend(
        [
            Reply(429, {"error": {"message": "slow down"}}, headers={"retry-after": "0.2"}),
            json_answer({"temperature": "WARM", "score": 50}),
        ]
    )
    answer = await gateway(fake, max_retries=2).ask("test", "s", "u", Answer)
    assert answer == Answer(temperature="WARM", score=50) and len(fake.requests) == 2


async def test_a_server_error_that_persists_falls_back_and_is_counted_by_the_breaker(
    fake: FakeGroq,
) -> None:
    fake.default = lambda request: Reply(500, {"error": {"message": "boom"}})
    breaker = CircuitBreaker(threshold=2, cool_down=60)
    groq = gateway(fake, max_retries=1, breaker=breaker)
    assert await groq.ask("test", "s", "u", Answer) is None
    assert len(fake.requests) == 2 and breaker.failures == 1  # one retry, then fallback


async def test_a_slow_answer_past_the_timeout_falls_back(fake: FakeGroq) -> None:
    fake.script.append(Reply(body=completion("{}"), delay=2.0))
    groq = gateway(fake, timeout=0.3, max_retries=0)
    assert await groq.ask("test", "s", "u", Answer) is None


async def test_the_breaker_opens_after_failures_then_probes_again_after_the_cool_down(
    fake: FakeGroq,
) -> None:
    now = [1000.0]
    breaker = CircuitBreaker(threshold=2, cool_down=30, clock=lambda: now[0])
    groq = gateway(fake, max_retries=0, breaker=breaker)
    fake.default = lambda request: Reply(503, {"error": {"message": "down"}})
    assert await groq.ask("test", "s", "u", Answer) is None
    assert await groq.ask("test", "s", "u", Answer) is None
    calls = len(fake.requests)
    assert await groq.ask("test", "s", "u", Answer) is None
    assert len(fake.requests) == calls  # open: Groq was not even asked
    now[0] += 31
    fake.default = lambda request: json_answer({"temperature": "HOT", "score": 80})
    assert await groq.ask("test", "s", "u", Answer) is not None  # the probe succeeds
    assert breaker.opened_at is None and breaker.failures == 0
