"""An in-memory bus that keeps everything published on it, for service-level tests."""

from __future__ import annotations

from leadflow.bus import Delivery, InMemoryBus, QueueSpec


async def recording_bus() -> tuple[InMemoryBus, list[Delivery]]:
    """A started in-memory bus and the list of every delivery published on it, in order."""
    bus = InMemoryBus()
    published: list[Delivery] = []

    async def record(delivery: Delivery) -> None:
        published.append(delivery)

    bus.consume(QueueSpec("everything", bindings=("#",), prefetch=1), record)
    await bus.start()
    return bus, published
