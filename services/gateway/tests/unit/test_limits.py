"""Rate-limit buckets and the webhook signature, as pure functions."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from gateway.limits import TokenBuckets
from gateway.webhook import SeenSignatures, check_signature
from hypothesis import given
from hypothesis import strategies as st
from leadflow.rpc import Invalid, Unauthorized


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


def sign(secret: str, body: bytes, timestamp: str | None = None) -> str:
    message = body if timestamp is None else timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def accepted(
    secret: str,
    body: bytes,
    signature: str | None,
    timestamp: str | None = None,
    *,
    require_timestamp: bool = False,
    now: float = 1_700_000_000,
) -> bool:
    try:
        check_signature(
            secret, body, signature, timestamp, require_timestamp=require_timestamp, now=now
        )
    except Unauthorized:
        return False
    return True


def test_the_webhook_signature_is_an_hmac_of_the_raw_body() -> None:
    body = b'{"name":"A","phone":"+5511987654321"}'
    good = sign("k", body)
    assert accepted("k", body, good)
    assert accepted("k", body, good.upper().replace("SHA256=", "sha256="))
    assert not accepted("k", body + b" ", good)
    assert not accepted("other", body, good)
    assert not accepted("k", body, None)
    assert not accepted("k", body, good.removeprefix("sha256="))


def test_a_timestamped_signature_covers_the_timestamp_and_expires_after_five_minutes() -> None:
    body, now = b"{}", 1_700_000_000
    stamp = str(now - 10)
    assert accepted("k", body, sign("k", body, stamp), stamp, now=now)
    assert not accepted("k", body, sign("k", body), stamp, now=now)  # body-only signature
    assert not accepted("k", body, sign("k", body, stamp), str(now - 9), now=now)
    old = str(now - 301)
    assert not accepted("k", body, sign("k", body, old), old, now=now)
    assert not accepted("k", body, sign("k", body), require_timestamp=True)
    assert accepted("k", body, sign("k", body, stamp), stamp, require_timestamp=True, now=now)


def test_unreadable_signature_headers_are_a_validation_error() -> None:
    for signature, timestamp in (("sha256=é" + "0" * 63, None), (sign("k", b"{}"), "12a")):
        with pytest.raises(Invalid):
            check_signature("k", b"{}", signature, timestamp, require_timestamp=False, now=0)


def test_a_signature_is_accepted_once_within_the_replay_window() -> None:
    seen = SeenSignatures(window_s=300)
    assert seen.claim("a", now=0) and not seen.claim("a", now=100)
    seen.release("a")  # the request failed: its sender may retry
    assert seen.claim("a", now=100)
    assert seen.claim("a", now=100 + 601)  # long outside the window: the timestamp refuses it


def test_failed_logins_are_counted_without_spending_a_token_to_look() -> None:
    buckets = TokenBuckets(per_minute=60, burst=2)
    assert buckets.wait("acct", now=0) == 0.0 and buckets.wait("acct", now=0) == 0.0
    buckets.take("acct", now=0)
    buckets.take("acct", now=0)
    assert buckets.wait("acct", now=0) == 1.0
