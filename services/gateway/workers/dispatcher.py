"""One group's dispatcher in one gateway process: hands the group's oldest queued task to an idle
worker of this process, one task per worker at a time. A task submitted here goes to an idle
worker without the queue: one reserved before it is stored, stored as that worker's and handed
over once held (`reserve`), or else one that turned idle while it was held (`offer`).
It wakes when a worker turns idle after a sign that work may wait, and when a task is queued
(here, or on another instance as its signal or the hub's re-check tells), and claims only then:
an empty queue costs one empty claim per sign, not per poll nor per task done."""
from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from services.gateway.workers.queue import WorkQueue
from shared.task_record import Task

if TYPE_CHECKING:
    from services.gateway.workers.connection import WorkerConnection

log = logging.getLogger(__name__)


class GroupDispatcher:
    def __init__(self, group: str, queue: WorkQueue,
                 still_admitted: Callable[[WorkerConnection], Awaitable[bool]]) -> None:
        self.group, self._queue, self._still_admitted = group, queue, still_admitted
        self._idle: deque[WorkerConnection] = deque()
        self._wake = asyncio.Event()
        # Signs that work may wait (a task queued here or elsewhere, a re-check that found some, a
        # task given back), counted, and the count the last empty claim had seen: a worker turning
        # idle claims only if a sign came since, so a worker finishing a task it was handed
        # straight from its submission (`reserve`) costs no empty claim. 1 > 0: the first one looks.
        self._signs, self._signs_seen = 1, 0
        self._loop = asyncio.create_task(self._run(), name=f"dispatch {group}")

    def idle(self, worker: WorkerConnection) -> None:
        if not worker.closed and worker.task is None and not worker.reserved and worker not in self._idle:
            self._idle.append(worker)
            if self._signs > self._signs_seen:
                self._wake.set()

    def forget(self, worker: WorkerConnection) -> None:
        if worker in self._idle:
            self._idle.remove(worker)

    def wake(self) -> None:
        self._signs += 1
        if self._idle:
            self._wake.set()

    def reserve(self) -> WorkerConnection | None:
        """An idle worker of this process, taken for a task about to be stored as its own
        (`WorkerHub.reserve`, workers/queue.py); None when none waits."""
        while self._idle:
            worker = self._idle.popleft()
            if not worker.closed:
                worker.reserved = True
                return worker
        return None

    def unreserve(self, worker: WorkerConnection) -> None:
        """The reserved worker's task was never held: the worker is idle again."""
        worker.reserved = False
        self.idle(worker)

    async def hand_over(self, worker: WorkerConnection, task: Task) -> None:
        """The reserved worker's task, stored as its own and held, goes to it."""
        worker.reserved = False
        await self._deliver(worker, task)

    async def offer(self, task: Task) -> bool:
        """Hands a just-held task to a worker of this process that turned idle while the task was
        being held (none was to reserve before), claiming it by `_id`; False when none waits, and
        the caller queues it."""
        while self._idle:
            worker = self._idle.popleft()
            if worker.closed:
                continue
            try:
                claimed = await self._queue.take(task.id, worker.id, task.enqueued_ms)
            except Exception:
                self._idle.appendleft(worker)
                log.exception("handing task %s to worker %s failed; queueing it", task.id, worker.id)
                return False
            if claimed is not None:
                await self._deliver(worker, claimed)
            elif not worker.closed:  # it ended already (a sync caller gave up): nothing to run
                self.idle(worker)
            return True
        return False

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
            signs = self._signs
            try:
                task = await self._queue.claim(self.group, worker.id)
            except Exception:
                self._idle.appendleft(worker)
                raise
            if task is None:
                self._signs_seen = signs
                if not worker.closed:
                    self._idle.appendleft(worker)
                return
            await self._deliver(worker, task)

    async def _deliver(self, worker: WorkerConnection, task: Task) -> None:
        # Gone during the claim, or its token revoked: the task never left this process.
        if worker.closed or not await self._still_admitted(worker):
            await self._queue.give_back(task)
            self.wake()  # another idle worker may take it
            return
        await worker.assign(task)
