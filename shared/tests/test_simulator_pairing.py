"""After a logout the simulator pairs again: a QR code that rotates until it is scanned."""

from __future__ import annotations

import asyncio

import pytest
from leadflow.events import SessionStatus
from leadflow.whatsapp.simulator import SimulatorTransport
from leadflow.whatsapp.transport import InboundMessage, Receipt, SessionState


class Recorder:
    def __init__(self) -> None:
        self.states: list[SessionState] = []
        self.changed = asyncio.Event()

    async def on_message(self, message: InboundMessage) -> None: ...
    async def on_receipt(self, receipt: Receipt) -> None: ...

    async def on_state(self, state: SessionState) -> None:
        self.states.append(state)
        self.changed.set()

    async def until(self, count: int) -> list[SessionState]:
        async with asyncio.timeout(5):
            while len(self.states) < count:
                self.changed.clear()
                await self.changed.wait()
        return self.states


async def test_a_logged_out_simulator_shows_a_code_that_rotates_until_scanned() -> None:
    transport = SimulatorTransport("+5511900000001", qr_ttl_s=0.05)
    listener = Recorder()
    await transport.start(listener)
    await transport.logout()
    states = await listener.until(4)
    statuses = [s.status for s in states[:4]]
    assert statuses == [
        SessionStatus.CONNECTED,
        SessionStatus.LOGGED_OUT,
        SessionStatus.PAIRING,
        SessionStatus.PAIRING,
    ]
    first, second = states[2], states[3]
    assert first.qr and second.qr and first.qr != second.qr  # rotated
    assert first.qr_expires_at is not None and first.qr_expires_at > first.since
    assert second.since == first.since  # still the same pairing, however many codes

    with pytest.raises(ConnectionError):
        await transport.send_text("5511987654321@s.whatsapp.net", "not while pairing")
    await transport.scan()
    assert transport.state.status is SessionStatus.CONNECTED
    assert transport.state.phone == "+5511900000001" and transport.state.qr is None
    seen = len(listener.states)
    await asyncio.sleep(0.15)  # three rotation periods: no code comes after the scan
    assert len(listener.states) == seen
    await transport.stop()


async def test_scanning_a_connected_simulator_is_refused() -> None:
    transport = SimulatorTransport("+5511900000001")
    await transport.start(Recorder())
    with pytest.raises(RuntimeError):
        await transport.scan()
    await transport.stop()
