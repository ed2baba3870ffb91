"""The work queue of each worker group: `dispatch_queue`, a small collection holding only the
worker tasks waiting for a worker, `{_id: task_id, group, enqueued_ms}`, beside the task documents
(`api: "openai"`).

Why a collection of its own: a claim is a sorted query and the queue depth a count, and on the
MongoDB stand-in any query that is not an `_id` lookup gets slower linearly with the documents it
runs over. Over `tasks` (everything ever stored) a claim went from 50 ms to 450 ms between 1k and
50k stored tasks; over `dispatch_queue` it only ever sees the live queue.

A worker task is stored `QUEUED`, with its place in the queue (`enqueued_ms`, taken when it was
submitted), and `IN_PROGRESS` once a worker claimed it; the terminal step is `TaskStore.finish`,
as on every other path. Its entry is inserted only once its hold is placed, so a claim, which
starts from an entry, only ever takes a held task. The claim is a single-document compare-and-swap
on the task by `_id`, so two gateway instances never hand one task to two workers, and an entry is
taken by `find_one_and_delete`, so only one claim sees it. (Tasks stored NOT_START by earlier
versions are claimed too.) Stored QUEUED rather than swapped there after the hold: that swap was
one more write on the task per dispatched task; a task whose hold is still being placed reads
`queued` for those milliseconds, and one whose hold is refused is deleted.

A task submitted while a worker of its group waits idle in the submitting process skips the
queue and the claim: the submission reserves that worker (workers/dispatcher.py `reserve`) and
stores the task as the worker's from the start (`on_worker`: IN_PROGRESS, its `worker_id`), so it
is written once and then finished, two writes fewer than a claim from the queue and one fewer
than a claim by `_id`. It reads `in_progress` for the milliseconds its hold takes before the
worker has it; one whose hold is refused is deleted, and the worker is idle again. A worker that
leaves meanwhile gives the task back to the queue (`give_back`), as a claim whose worker left
does. When none was idle at the submission but one turned idle while the hold was placed, the
task is claimed for it by `_id` (`take`, workers/dispatcher.py `offer`), still without an entry.
A worker idle here means this process's last claim found the queue empty; a task queued on
another instance in the second before its signal arrived keeps its place and goes to the next
worker free.

Nothing queued is lost: a gateway dying after the hold and before the entry's insert leaves a held
task without an entry, as the seed's design did before queueing: its deadline (`next_poll_at`, the
poller fails it and voids the hold) is the backstop.

An entry whose task ended while queued (timed out by the poller, failed by a sync caller's
gateway) is stale: a claim's swap fails on it, so it is dropped and the next one tried, never
handed out; `prune` drops the ones no claim reached (they would count in the depth).
"""
from __future__ import annotations

import dataclasses
import time

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.status import TaskStatus
from shared.task_record import Task
from shared.tasks import TaskStore

API = "openai"
# A claim takes a held task whose gateway has not (or never) swapped it to QUEUED: see above.
CLAIMABLE = [TaskStatus.NOT_START, TaskStatus.QUEUED]
QUEUE_ORDER = [("enqueued_ms", ASCENDING), ("_id", ASCENDING)]


def now_ms() -> int:
    return int(time.time() * 1000)


def queued_task(task: Task, group: str) -> Task:
    """A new worker task as stored: queued in `group` as of now (see the module's docstring)."""
    return dataclasses.replace(task, status=TaskStatus.QUEUED, group=group, enqueued_ms=now_ms())


def on_worker(task: Task, worker_id: str) -> Task:
    """A new queued task (`queued_task`) stored instead as the reserved worker's, started now."""
    return dataclasses.replace(task, status=TaskStatus.IN_PROGRESS, worker_id=worker_id, started_ms=now_ms())


class WorkQueue:
    def __init__(self, db: AsyncDatabase) -> None:
        self._tasks = TaskStore(db)
        self.entries = db["dispatch_queue"]

    async def ensure_indexes(self) -> None:
        # Not `_id` as a third key: the stand-in then refuses every insert ("JSON path error near
        # '_id'"); ties on enqueued_ms are few, and `_id` orders them from there.
        await self.entries.create_index([("group", ASCENDING), ("enqueued_ms", ASCENDING)])

    async def enqueue(self, task: Task) -> None:
        """Queues a stored task (`queued_task`) whose hold is placed, at its place."""
        await self._insert_entry(task)

    async def claim(self, group: str, worker_id: str) -> Task | None:
        """The oldest queued task of `group`, now the worker's; None when the queue is empty.
        Stale entries met on the way are dropped."""
        while True:
            entry = await self.entries.find_one_and_delete({"group": group}, sort=QUEUE_ORDER)
            if entry is None:
                return None
            task = await self.take(entry["_id"], worker_id, entry["enqueued_ms"])
            if task is not None:
                return task

    async def take(self, task_id: str, worker_id: str, enqueued_ms: int) -> Task | None:
        """The claim itself: the task, still waiting, is now the worker's; None if it ended or
        another claim took it first. Reached from a queue entry, or straight from the submission
        when a worker of this process turned idle while its hold was placed (dispatcher `offer`)."""
        return await self._tasks.start_on_worker(task_id, CLAIMABLE, worker_id, enqueued_ms, now_ms())

    async def give_back(self, task: Task) -> None:
        """Returns a claimed task that never reached its worker (the socket closed during the
        claim) to its place in the queue: nobody can have started it. The task first, then its
        entry: the other order would let a claim drop the entry while the task is still
        IN_PROGRESS. Dying in between leaves it to its deadline."""
        if await self._tasks.back_to_queue(task):
            await self._insert_entry(task)

    async def forget(self, task_id: str) -> None:
        """Drops the entry of a task this gateway ended while it may still be queued."""
        await self.entries.delete_one({"_id": task_id})

    async def depth(self, group: str) -> int:
        return await self.entries.count_documents({"group": group})

    async def ahead_of(self, task: Task) -> int:
        """How many tasks of the group are queued before this one (0: it is next)."""
        return await self.entries.count_documents(
            {"group": task.group, "$or": [
                {"enqueued_ms": {"$lt": task.enqueued_ms}},
                {"enqueued_ms": task.enqueued_ms, "_id": {"$lt": task.id}}]})

    async def depth_by_group(self) -> dict[str, int]:
        rows = self.entries.aggregate([{"$group": {"_id": "$group", "n": {"$sum": 1}}}])
        return {row["_id"]: row["n"] async for row in await rows}

    async def prune(self, older_than_ms: int) -> int:
        """Drops entries queued before `older_than_ms` whose task can no longer be claimed (it
        ended: the poller timed it out and no claim reached it since; or it is gone). One `_id`
        query over them; returns how many were dropped."""
        old = [e["_id"] for e in await self.entries.find(
            {"enqueued_ms": {"$lt": older_than_ms}}, {"_id": 1}).to_list(None)]
        if not old:
            return 0
        statuses = await self._tasks.statuses(old)
        stale = [task_id for task_id in old if statuses.get(task_id) not in CLAIMABLE]
        if stale:
            await self.entries.delete_many({"_id": {"$in": stale}})
        return len(stale)

    async def _insert_entry(self, task: Task) -> None:
        try:
            await self.entries.insert_one({"_id": task.id, "group": task.group, "enqueued_ms": task.enqueued_ms})
        except DuplicateKeyError:  # queued already (a repeat): one entry is enough
            pass
