"""Natural batching: one run over everything that arrived while the previous run was busy."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class Batcher(Generic[Item, Result]):
    """Callers `submit` one item each and get its result; `process` runs over a batch.

    Nothing waits for a timer: an item submitted while nothing runs starts a run at once
    (a batch of one when the system is quiet); items submitted during a run make up the
    next batch. So under load a batch costs one round trip for many items, and at rest
    an item costs what it cost alone. `process` returns one result per item, in order;
    if it raises, every caller of that batch gets the exception.
    """

    def __init__(
        self,
        process: Callable[[list[Item]], Awaitable[Sequence[Result]]],
        *,
        max_size: int = 100,
    ) -> None:
        self.process = process
        self.max_size = max_size
        self._pending: list[tuple[Item, asyncio.Future[Result]]] = []
        self._runner: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._runner is None:
            self._runner = asyncio.create_task(self._run_batches(), name="batcher")
        return await future

    async def _run_batches(self) -> None:
        batch: list[tuple[Item, asyncio.Future[Result]]] = []
        try:
            while self._pending:
                batch = self._pending[: self.max_size]
                del self._pending[: self.max_size]
                try:
                    results = await self.process([item for item, _ in batch])
                    if len(results) != len(batch):
                        raise RuntimeError(f"{len(results)} results for {len(batch)} items")
                except Exception as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                else:
                    for (_, future), result in zip(batch, results, strict=True):
                        if not future.done():
                            future.set_result(result)
                batch = []
        finally:
            # Cancelled (the service is stopping): nobody is left waiting forever; their
            # messages go unacknowledged and come back.
            for _, future in batch + self._pending:
                if not future.done():
                    future.cancel()
            self._pending.clear()
            self._runner = None
