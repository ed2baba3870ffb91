"""Tasks in flight (opened, not yet terminal) per scope, bounded exactly across instances.

One document per scope (`key:<id>` or `user:<id>`) lists the tasks holding a slot and counts
them; a task takes a slot by one conditional update (`count` under the cap, task not listed yet),
so concurrent requests on any instance never hold more slots than the cap. Slots are given back
lazily: when a scope looks full (or lists `TIDY_AT` tasks), the tasks in it that have turned
terminal are pulled out (each pull is conditional on the task still being listed, so a slot is
freed once), and the request tries again. Nothing else has to remember to free a slot, whichever service ends the task.

A slot whose task document never appeared (the gateway died between taking the slot and
storing the task) is freed once it is older than `ORPHAN_AFTER_S`.
"""
from __future__ import annotations

import time

from pymongo.asynchronous.database import AsyncDatabase

from shared.status import TERMINAL
from shared.tasks import TaskStore

ORPHAN_AFTER_S = 60.0
TIDY_AT = 100


class InFlightSlots:
    def __init__(self, db: AsyncDatabase) -> None:
        self._slots = db["in_flight"]
        self._tasks = TaskStore(db)

    async def take(self, scope: str, task_id: str, cap: int) -> bool:
        entry = _entry(task_id)
        # Finished tasks are pulled only when the list reaches TIDY_AT (or the cap), so it stays
        # short without a sweep on every request.
        if await self._push(scope, entry, min(cap, TIDY_AT)):
            return True
        for _ in range(3):
            freed = await self._free_finished(scope)
            if await self._push(scope, entry, cap):
                return True
            if not freed:
                return False
        return False

    async def give_back(self, scope: str, task_id: str) -> None:
        """Frees the slot of a task that was never opened (its hold was rejected)."""
        for entry in await self._entries(scope) or []:
            if entry.partition("@")[0] == task_id:
                await self._pull(scope, entry)

    async def count(self, scope: str) -> int:
        await self._free_finished(scope)
        return len(await self._entries(scope) or [])

    async def _free_finished(self, scope: str) -> bool:
        """Pulls the slots of finished (or orphaned) tasks; True if any was freed, or the
        scope's document was just created (either way a retry may now succeed)."""
        entries = await self._entries(scope)
        if entries is None:
            await self._slots.update_one({"_id": scope}, {"$setOnInsert": {"count": 0, "tasks": []}}, upsert=True)
            return True
        by_task = {entry.partition("@")[0]: entry for entry in entries}
        found = await self._tasks.statuses(list(by_task))
        freed = False
        for task_id, entry in by_task.items():
            status = found.get(task_id)
            if status in TERMINAL or (status is None and _age_s(entry) > ORPHAN_AFTER_S):
                freed = await self._pull(scope, entry) or freed
        return freed

    async def _entries(self, scope: str) -> list[str] | None:
        doc = await self._slots.find_one({"_id": scope}, {"tasks": 1})
        return None if doc is None else list(doc.get("tasks") or [])

    async def _push(self, scope: str, entry: str, bound: int) -> bool:
        taken = await self._slots.update_one(
            {"_id": scope, "count": {"$lt": bound}, "tasks": {"$nin": [entry]}},
            {"$inc": {"count": 1}, "$push": {"tasks": entry}})
        return taken.modified_count == 1

    async def _pull(self, scope: str, entry: str) -> bool:
        pulled = await self._slots.update_one({"_id": scope, "tasks": entry},
                                              {"$inc": {"count": -1}, "$pull": {"tasks": entry}})
        return pulled.modified_count == 1


def _entry(task_id: str) -> str:
    """The task id and when its slot was taken, so an orphaned slot can be recognised."""
    return f"{task_id}@{time.time():.0f}"


def _age_s(entry: str) -> float:
    return time.time() - float(entry.partition("@")[2] or 0)
