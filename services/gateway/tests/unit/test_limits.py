"""Rate-limit buckets and the webhook signature, as pure functions."""

from __future__ import annotations

import hashlib
import hmac

from gateway.limits import TokenBuckets
from gateway.routes import signature_matches
from hypothesis import given
from hypothesis import strategies as st


def test_a_client_gets_its_burst_then_waits_for_tokens_to_refill() -> None:
    buckets = TokenBuckets(per_minute=60, burst=3)
    assert [buckets.take("a", now=100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a", now=100.0) == 1.0  # one token per second
    assert buckets.take("b", now=100.0) == 0.0  # another client is unaffected
    assert buckets.take("a", now=101.0) == 0.0


@given(st.lists(st.floats(0, 5), min_size=1, max_size=200))
def test_no_client_ever_exceeds_burst_plus_the_refill_rate(gaps: list[float]) -> None:
    buckets = TokenBuckets(per_minute=120, burst=5)
    now, allowed = 0.0, 0
    for gap in gaps:
        now += gap
        allowed += buckets.take("c", now) == 0.0
    assert allowed <= 5 + now * 2 + 1e-9


def test_the_webhook_signature_is_an_hmac_of_the_raw_body() -> None:
    body = b'{"name":"A","phone":"+5511987654321"}'
    good = "sha256=" + hmac.new(b"k", body, hashlib.sha256).hexdigest()
    assert signature_matches("k", body, good)
    assert signature_matches("k", body, good.upper().replace("SHA256=", "sha256="))
    assert not signature_matches("k", body + b" ", good)
    assert not signature_matches("other", body, good)
    assert not signature_matches("k", body, None)
    assert not signature_matches("k", body, good.removeprefix("sha256="))
