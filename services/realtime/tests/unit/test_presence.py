"""Presence: who is connected to this replica, announced when it changes."""

from __future__ import annotations

from leadflow.auth import AccessClaims
from leadflow.events import Role
from realtime.hub import Hub


def claims(who: str) -> AccessClaims:
    return AccessClaims(consultant_id=who, role=Role.CONSULTANT, expires_at=2**31, jti="j")


async def test_presence_changes_on_the_first_connection_and_after_the_last() -> None:
    changes: list[list[str]] = []
    hub = Hub()
    hub.on_presence_change = lambda: changes.append(hub.online())
    ana_phone = hub.connect(claims("ana"), "ws", [])
    ana_laptop = hub.connect(claims("ana"), "sse", [])
    bia = hub.connect(claims("bia"), "ws", [])
    hub.disconnect(ana_phone)
    assert changes == [["ana"], ["ana", "bia"]]  # a second tab of Ana's changes nothing
    hub.disconnect(ana_laptop)
    hub.disconnect(ana_laptop)  # twice: a socket may be closed from both ends
    hub.disconnect(bia)
    assert changes == [["ana"], ["ana", "bia"], ["bia"], []]
