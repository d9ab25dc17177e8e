"""A consultant whose session ended is closed out at once (4401), and only them."""

from __future__ import annotations

from leadflow.auth import AccessClaims, SessionRevocations
from leadflow.events import ConsultantSessionsRevoked, Role
from leadflow.testing.recording import delivery
from realtime.handlers import RealtimeHandlers
from realtime.hub import CLOSE_UNAUTHORIZED, Hub


def claims(who: str, jti: str, generation: int = 0) -> AccessClaims:
    return AccessClaims(
        consultant_id=who, role=Role.CONSULTANT, expires_at=2**31, jti=jti, generation=generation
    )


async def test_a_new_session_generation_closes_that_consultants_clients_only() -> None:
    hub = Hub()
    revocations = SessionRevocations()
    revocations.load({"generations": {}, "revoked": []})
    handlers = RealtimeHandlers(hub, "secret", revocations)
    ana_ws = hub.connect(claims("ana", "j1"), "ws", ["kanban"])
    ana_sse = hub.connect(claims("ana", "j2"), "sse", ["kanban"])
    bia = hub.connect(claims("bia", "j3"), "ws", ["kanban"])
    await handlers.on_event(delivery(ConsultantSessionsRevoked(consultant_id="ana", generation=1)))
    assert (ana_ws.close_code, ana_sse.close_code) == (CLOSE_UNAUTHORIZED, CLOSE_UNAUTHORIZED)
    assert bia.close_code is None
    assert revocations.refuses(claims("ana", "j9")) and not revocations.refuses(
        claims("ana", "j9", generation=1)
    )


async def test_a_logged_out_token_closes_its_own_socket_only() -> None:
    hub = Hub()
    revocations = SessionRevocations()
    revocations.load({"generations": {}, "revoked": []})
    handlers = RealtimeHandlers(hub, "secret", revocations)
    laptop = hub.connect(claims("ana", "laptop"), "ws", [])
    phone = hub.connect(claims("ana", "phone"), "ws", [])
    event = ConsultantSessionsRevoked(consultant_id="ana", jti="laptop", expires_at=2**31)
    await handlers.on_event(delivery(event))
    assert (laptop.close_code, phone.close_code) == (CLOSE_UNAUTHORIZED, None)


def test_the_state_loaded_at_start_refuses_what_ended_before() -> None:
    revocations = SessionRevocations()
    assert not revocations.loaded
    revocations.load({"generations": {"ana": 2}, "revoked": [{"jti": "old", "expires_at": 2**31}]})
    assert revocations.loaded
    assert revocations.refuses(claims("ana", "x", generation=1))
    assert not revocations.refuses(claims("ana", "x", generation=2))
    assert revocations.refuses(claims("bia", "old"))
