"""A background job run every few seconds for as long as a service runs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class Periodic:
    """Runs `job` at start, then every `interval_s`, and at once on `wake()`.

    A wake during a run makes another run follow it, so nothing staged meanwhile waits.
    A failing run is logged and the next one goes ahead: a loop that dies quietly is
    worse than a noisy one.
    """

    def __init__(self, name: str, interval_s: float, job: Callable[[], Awaitable[None]]) -> None:
        self.name, self.interval_s, self.job = name, interval_s, job
        self._task: asyncio.Task[None] | None = None
        self._woken = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    def wake(self) -> None:
        self._woken.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            self._woken.clear()
            try:
                await self.job()
            except Exception:
                log.exception("%s failed; trying again in %.1f s", self.name, self.interval_s)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken.wait(), self.interval_s)
