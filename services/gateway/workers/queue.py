"""The work queue of each worker group: the task documents themselves (`api: "openai"`).

A task is `NOT_START` while its hold is placed, `QUEUED` once held (`enqueued_ms` orders the
group), `IN_PROGRESS` once a worker claimed it; the terminal step is `TaskStore.finish`, as on
every other path. Claims are single-document compare-and-swaps, so two gateway instances never
hand one task to two workers.
"""
from __future__ import annotations

import time
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from shared.clock import stamp
from shared.status import TaskStatus

API = "openai"
QUEUED, CLAIMED = TaskStatus.QUEUED.value, TaskStatus.IN_PROGRESS.value


def now_ms() -> int:
    return int(time.time() * 1000)


class WorkQueue:
    def __init__(self, db: AsyncDatabase) -> None:
        self._tasks = db["tasks"]

    async def ensure_indexes(self) -> None:
        await self._tasks.create_index([("api", 1), ("group", 1), ("status", 1), ("enqueued_ms", 1)])

    async def enqueue(self, task_id: str) -> dict[str, Any] | None:
        """Queues a task whose hold is placed; None when it failed meanwhile."""
        return await self._tasks.find_one_and_update(
            {"_id": task_id, "status": TaskStatus.NOT_START.value},
            {"$set": {"status": QUEUED, "enqueued_ms": now_ms(), "updated_at": stamp()}},
            return_document=ReturnDocument.AFTER)

    async def claim(self, group: str, worker_id: str) -> dict[str, Any] | None:
        """The oldest queued task of `group`, now the worker's; None when the queue is empty."""
        return await self._tasks.find_one_and_update(
            {"api": API, "group": group, "status": QUEUED},
            {"$set": {"status": CLAIMED, "worker_id": worker_id, "started_ms": now_ms(), "updated_at": stamp()}},
            sort=[("enqueued_ms", 1), ("_id", 1)], return_document=ReturnDocument.AFTER)

    async def give_back(self, task: dict[str, Any]) -> None:
        """Returns a claimed task that never reached its worker (the socket closed during the
        claim) to its place in the queue: nobody can have started it."""
        await self._tasks.update_one(
            {"_id": task["_id"], "status": CLAIMED, "worker_id": task["worker_id"]},
            {"$set": {"status": QUEUED, "updated_at": stamp()}, "$unset": {"worker_id": "", "started_ms": ""}})

    async def depth(self, group: str) -> int:
        return await self._tasks.count_documents({"api": API, "group": group, "status": QUEUED})

    async def ahead_of(self, task: dict[str, Any]) -> int:
        """How many tasks of the group are queued before this one (0: it is next)."""
        return await self._tasks.count_documents(
            {"api": API, "group": task["group"], "status": QUEUED, "$or": [
                {"enqueued_ms": {"$lt": task["enqueued_ms"]}},
                {"enqueued_ms": task["enqueued_ms"], "_id": {"$lt": task["_id"]}}]})

    async def depth_by_group(self) -> dict[str, int]:
        rows = self._tasks.aggregate([{"$match": {"api": API, "status": QUEUED}},
                                      {"$group": {"_id": "$group", "n": {"$sum": 1}}}])
        return {row["_id"]: row["n"] async for row in await rows}
