"""Sync callers waiting for their task to end. A task finished by a worker on this instance
wakes its caller at once; one finished elsewhere (another instance's worker, the poller's
timeout) is found by one batched query over the waiting tasks per `dispatch_poll_s`, sent only
while someone waits. A task running on a worker of this instance is left out of it: its end is
that worker's report or disconnect, both seen here, or its deadline, which the caller's own wait
meets at the same moment."""
from __future__ import annotations

import asyncio

from shared.status import TERMINAL
from shared.task_record import Task
from shared.tasks import TaskStore


class ResultWaiters:
    def __init__(self, tasks: TaskStore) -> None:
        self._tasks = tasks
        self._waiting: dict[str, asyncio.Future[Task]] = {}

    async def wait(self, task_id: str, timeout_s: float) -> Task | None:
        """The finished task, or None when it did not finish within `timeout_s`."""
        future = self._waiting.setdefault(task_id, asyncio.get_running_loop().create_future())
        try:
            return await asyncio.wait_for(asyncio.shield(future), max(timeout_s, 0))
        except TimeoutError:
            return None
        finally:
            self._waiting.pop(task_id, None)

    def finished(self, task: Task) -> None:
        future = self._waiting.get(task.id)
        if future is not None and not future.done():
            future.set_result(task)

    async def look_for_finished(self, running_here: set[str]) -> None:
        elsewhere = [task_id for task_id in self._waiting if task_id not in running_here]
        if not elsewhere:
            return
        for task in await self._tasks.records(elsewhere, list(TERMINAL)):
            self.finished(task)
