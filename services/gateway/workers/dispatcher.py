"""One group's dispatcher in one gateway process: hands the group's oldest queued task to an
idle worker of this process, one task per worker at a time. It wakes when a worker turns idle,
when a task is queued (here, or on another instance as the hub's queue watch or re-check
sees), and claims only then: an empty queue costs one empty claim per wake-up, not per poll."""
from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from services.gateway.workers.queue import WorkQueue

if TYPE_CHECKING:
    from services.gateway.workers.connection import WorkerConnection

log = logging.getLogger(__name__)


class GroupDispatcher:
    def __init__(self, group: str, queue: WorkQueue,
                 still_admitted: Callable[[WorkerConnection], Awaitable[bool]]) -> None:
        self.group, self._queue, self._still_admitted = group, queue, still_admitted
        self._idle: deque[WorkerConnection] = deque()
        self._wake = asyncio.Event()
        self._loop = asyncio.create_task(self._run(), name=f"dispatch {group}")

    def idle(self, worker: WorkerConnection) -> None:
        if not worker.closed and worker.task is None and worker not in self._idle:
            self._idle.append(worker)
            self._wake.set()

    def forget(self, worker: WorkerConnection) -> None:
        if worker in self._idle:
            self._idle.remove(worker)

    def wake(self) -> None:
        if self._idle:
            self._wake.set()

    async def stop(self) -> None:
        self._loop.cancel()
        await asyncio.gather(self._loop, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self._hand_out()
            except Exception:  # e.g. the database blinked: the next wake-up tries again
                log.exception("dispatching group %s failed; retrying", self.group)

    async def _hand_out(self) -> None:
        while self._idle:
            # Out of the idle list during the claim, so no other claim can pick it meanwhile.
            worker = self._idle.popleft()
            if worker.closed:  # closed since it turned idle (e.g. its token was revoked)
                continue
            try:
                task = await self._queue.claim(self.group, worker.id)
            except Exception:
                self._idle.appendleft(worker)
                raise
            if task is None:
                if not worker.closed:
                    self._idle.appendleft(worker)
                return
            # Gone during the claim, or its token revoked: the task never left this process.
            if worker.closed or not await self._still_admitted(worker):
                await self._queue.give_back(task)
                continue
            await worker.assign(task)
