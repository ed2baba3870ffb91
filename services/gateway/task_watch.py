"""Following tasks while a client waits on them (`Prefer: wait` on a submit, the event streams).

A task changes wherever its news arrives: this gateway, another gateway (a worker's result, an
upstream webhook), the poller, a timeout sweep. So the watch does not listen for changes: it
reads the watched tasks, all of them in one `_id` query per `TASK_WATCH_POLL_S`, and wakes the
followers of each task whose state moved. The query is sent only while someone follows a task,
so the cost is one command per interval per gateway, whatever the number of followers.
"""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

from shared.task_record import Task
from shared.tasks import TaskStore


def _state(task: Task) -> tuple[Any, ...]:
    return task.status, task.progress, task.updated_at, task.result is not None


class Follower:
    """One client's view of one task: `latest` is the task as last read, `next_change` waits for a newer one."""

    def __init__(self, task: Task) -> None:
        self.latest = task
        self._changed = asyncio.Event()

    def offer(self, task: Task) -> None:
        if _state(task) != _state(self.latest):
            self.latest = task
            self._changed.set()

    async def next_change(self, timeout_s: float) -> Task | None:
        """The task once it changed, or None after `timeout_s` without a change."""
        try:
            await asyncio.wait_for(self._changed.wait(), max(timeout_s, 0))
        except TimeoutError:
            return None
        self._changed.clear()
        return self.latest


class TaskWatch:
    def __init__(self, tasks: TaskStore) -> None:
        self._tasks = tasks
        self._followers: dict[str, set[Follower]] = {}

    @contextlib.contextmanager
    def follow(self, task: Task) -> Iterator[Follower]:
        follower = Follower(task)
        self._followers.setdefault(task.id, set()).add(follower)
        try:
            yield follower
        finally:
            followers = self._followers.get(task.id, set())
            followers.discard(follower)
            if not followers:
                self._followers.pop(task.id, None)

    async def look(self) -> None:
        """One read of every followed task; run every TASK_WATCH_POLL_S."""
        if not self._followers:
            return
        for task in await self._tasks.records(list(self._followers)):
            for follower in list(self._followers.get(task.id, ())):
                follower.offer(task)

    async def until_terminal(self, task: Task, timeout_s: float) -> Task:
        """The task once terminal, or as it is after `timeout_s`."""
        if task.status.is_terminal:
            return task
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        with self.follow(task) as follower:
            while not follower.latest.status.is_terminal:
                if await follower.next_change(deadline - loop.time()) is None:
                    break
            return follower.latest
