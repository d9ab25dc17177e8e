"""`leadflow dead-letters`: what an operator does with messages that failed every delivery.

    leadflow dead-letters list                      every queue's dead letters, counted
    leadflow dead-letters show <queue>              each one: id, event, why, when, body
    leadflow dead-letters replay <queue> [--id ID]  back to that queue (all, or one)

A message is dead-lettered after MAX_DELIVERIES failed deliveries (an outage of the
database or broker does not count: see `leadflow.outages`). Fix the cause, then replay:
the message goes back to the queue that failed it alone, with its event's routing key;
consumers are idempotent, so a replayed message that was handled meanwhile changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TextIO

from leadflow.bus import Delivery
from leadflow.bus.rabbit import RabbitBus
from leadflow.bus.topology import ALL_QUEUES


def durable_queues() -> list[str]:
    """The queues that have a dead-letter queue (per-replica queues have none)."""
    return [spec.name for spec in ALL_QUEUES if not spec.per_replica]


async def list_dead_letters(bus: RabbitBus, out: TextIO, queues: Iterable[str] = ()) -> int:
    """One line per queue: its name and how many dead letters wait; returns the total."""
    total = 0
    for queue in list(queues) or durable_queues():
        count = await bus.dead_letter_count(queue)
        shown = "-" if count is None else str(count)
        out.write(f"{queue:<28} {shown:>6}\n")
        total += count or 0
    out.write(f"{'total':<28} {total:>6}\n")
    return total


def _death(delivery: Delivery) -> dict[str, Any]:
    deaths = delivery.headers.get("x-death") or []
    return deaths[0] if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict) else {}


async def show_dead_letters(bus: RabbitBus, queue: str, out: TextIO) -> int:
    """Each dead letter of `queue`, oldest first, without taking it off the queue."""
    letters = await bus.dead_letters(queue)
    for delivery in letters:
        death = _death(delivery)
        when = death.get("time")
        when = when.isoformat() if when is not None and hasattr(when, "isoformat") else when
        out.write(
            f"{delivery.message_id}  {delivery.routing_key}  "
            f"reason={death.get('reason') or delivery.headers.get('x-first-death-reason', '?')}  "
            f"dead-lettered={when}  "
            f"correlation={delivery.correlation_id}\n"
            f"  {delivery.body.decode(errors='replace')}\n"
        )
    out.write(f"{len(letters)} dead letter(s) in {queue}\n")
    return len(letters)


async def replay_dead_letters(
    bus: RabbitBus, queue: str, out: TextIO, message_id: str | None = None
) -> int:
    replayed = await bus.replay_dead_letters(queue, message_id=message_id)
    which = f" ({message_id})" if message_id else ""
    out.write(f"replayed {replayed} message(s){which} to {queue}\n")
    return replayed
