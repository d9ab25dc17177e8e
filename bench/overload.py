"""Issue 19's scenario for `bench.pipeline --overload`: a burst at twice the highest rate
the system keeps up with. Taking a lead in must not be starved by the work behind it (POST
p99 < 200 ms during the burst), the WebSocket client that keeps reading must get every
frame of every lead, and the backlog must drain afterwards at full speed: about the
steady rate the system keeps up with.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.cpu import SERVICE_PREFIX, Window, machine_jiffies, measured
from bench.floors import ms
from bench.load import KANBAN_FRAMES, Pipeline


async def overload_phase(
    pipeline: Pipeline,
    groups: dict[str, list[int]],
    rate: str,
    seconds: float,
    steady: float,
) -> list[str]:
    """`rate`: leads/s, or "auto" for twice `steady`, the highest steady rate kept up."""
    burst_rate = 2 * steady if rate == "auto" else float(rate)
    if not burst_rate:
        return ["overload: no steady rate was kept up, none to double"]
    # On a drained system: the faster phases may have left a backlog, or a dropped socket.
    await pipeline.all_assigned(list(pipeline.posted_at), within=120)
    if pipeline.closed is not None:
        await pipeline.open_socket()
    return report(await burst(pipeline, groups, burst_rate, seconds, "009"), steady)


@dataclass
class Burst:
    rate: float
    seconds: float
    posts: list[float]
    failed: int
    backlog: int  # leads created and not yet assigned when the last POST was due
    drain_s: float | None  # from then to the last one assigned; None: not all in time
    unassigned: int
    missing_frames: int  # leads of which a kanban frame never reached the client
    socket: str | None  # why the client's socket ended, if it did
    cores: dict[str, float]  # each process group's CPU during the burst, in cores
    busy: float  # the whole machine's, other users included, 0..1


async def burst(
    pipeline: Pipeline, groups: dict[str, list[int]], rate: float, seconds: float, tag: str
) -> Burst:
    windows: list[Window] = []
    busy_before, total_before = machine_jiffies()
    # The sending ends as the last POST is answered; the CPU is that of the whole burst.
    with measured(groups, windows):
        sent = await pipeline.send_leads(int(rate * seconds), rate, tag)
    busy, total = machine_jiffies()
    cores = {group: used / windows[0].seconds for group, used in windows[0].cpu.items()}
    ids = sent.ids
    backlog = sum(1 for i in ids if unassigned_at(pipeline, i, sent.ended))
    # Generous: at full speed the backlog drains in about as long as the burst lasted.
    await pipeline.all_assigned(ids, within=max(120.0, 4 * seconds))
    unassigned = sum(1 for i in ids if i not in pipeline.assigned)
    drain_s = (
        max(pipeline.assigned[i] for i in ids) - sent.ended if ids and not unassigned else None
    )
    await pipeline.until(
        lambda: all(pipeline.frames.get(i, set()) >= set(KANBAN_FRAMES) for i in ids), 10.0
    )
    missing = sum(1 for i in ids if pipeline.frames.get(i, set()) < set(KANBAN_FRAMES))
    return Burst(
        rate,
        seconds,
        sent.posts,
        sent.failed,
        backlog,
        drain_s,
        unassigned,
        missing,
        pipeline.closed,
        cores,
        (busy - busy_before) / max(1, total - total_before),
    )


def unassigned_at(pipeline: Pipeline, lead_id: str, moment: float) -> bool:
    """Was the lead not yet assigned at `moment` (seen assigned later, or never)?"""
    return pipeline.assigned.get(lead_id, float("inf")) > moment


def report(run: Burst, steady: float) -> list[str]:
    """`steady`: the highest steady rate kept up, what the drain is compared with."""
    if run.missing_frames == 0 and run.socket is None:
        frames = "every frame of every lead arrived"
    else:
        frames = f"{run.missing_frames} leads missed a frame" + (
            f"; the socket was {run.socket}" if run.socket else ""
        )
    if run.drain_s is not None:
        pace = run.backlog / run.drain_s if run.drain_s > 0 else float("inf")
        drain = (
            f"{run.backlog} leads, drained in {run.drain_s:.0f} s: {pace:.0f} leads/s "
            f"(steady rate kept up {steady:.0f}/s)"
        )
    else:
        drain = f"{run.backlog} leads, {run.unassigned} still not assigned at the deadline"
    cores = ", ".join(
        f"{name.removeprefix(SERVICE_PREFIX)} {value:.2f}"
        for name, value in sorted(run.cores.items(), key=lambda item: -item[1])
    )
    return [
        f"overload: {run.rate:.0f}/s for {run.seconds:.0f} s; during it:",
        f"{'  POST /api/leads':34} {ms(run.posts)}"
        + (f"  ({run.failed} failed or timed out)" if run.failed else ""),
        f"{'  the WebSocket client':34} {frames}",
        f"{'  backlog as the burst ended':34} {drain}",
        f"{'  cores used':34} {cores} (machine {100 * run.busy:.0f}% busy, other users included)",
    ]
