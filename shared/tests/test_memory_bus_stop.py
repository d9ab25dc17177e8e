"""The in-memory bus stops even when a handler swallows a cancellation (as Python 3.11's
wait_for does when the cancellation arrives with its own timeout)."""

from __future__ import annotations

import asyncio

from leadflow.bus import Delivery, InMemoryBus, QueueSpec


async def test_stop_ends_a_handler_that_swallowed_the_first_cancellation() -> None:
    bus = InMemoryBus()
    started, forever = asyncio.Event(), asyncio.Event()

    async def stubborn(delivery: Delivery) -> None:
        started.set()
        try:
            await forever.wait()
        except asyncio.CancelledError:
            await forever.wait()  # carries on, as after a swallowed cancellation

    bus.consume(QueueSpec("test.stubborn", ("test.stop",)), stubborn)
    await bus.start()
    await bus.publish("test.stop", b"{}")
    await asyncio.wait_for(started.wait(), 5)
    await asyncio.wait_for(bus.stop(), 5)
