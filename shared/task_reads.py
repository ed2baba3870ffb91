"""Reads of tasks for lists and dashboards: the task lists (a caller's own through the CustomPass
API and the Task API, the console's), a caller's tasks by id, the channels' recently finished tasks
and the live count. `TaskStore` (shared/tasks.py) owns the writes and the settlement reads; each
filter and page here is written once, whichever entry point asks."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from shared.listing import newest_first, within
from shared.status import ACTIVE, TaskStatus
from shared.task_record import Task
from shared.tasks import TaskStore


@dataclass(frozen=True)
class TaskFilter:
    """Which tasks a list shows: each field given narrows it, an empty one leaves it open.
    `statuses`: any of these canonical names (a dialect's word names several)."""
    user_id: str | None = None
    api: str | None = None  # the Task API's own tasks (`shared.typed_tasks.API`)
    statuses: tuple[str, ...] = ()
    model: str | None = None
    task_type: str | None = None
    channel_kind: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def query(self) -> dict[str, Any]:
        fields = {"user_id": self.user_id, "api": self.api, "model": self.model, "task_type": self.task_type,
                  "channel_kind": self.channel_kind}
        query: dict[str, Any] = {name: value for name, value in fields.items() if value}
        if self.statuses:
            query["status"] = self.statuses[0] if len(self.statuses) == 1 else {"$in": list(self.statuses)}
        if (created := within(self.since, self.until)):
            query["created_at"] = created
        return query


class TaskReads:
    def __init__(self, db: AsyncDatabase) -> None:
        self._tasks = TaskStore(db).tasks  # the read side of that repository: it names the collection

    async def page(self, wanted: TaskFilter, limit: int, offset: int) -> tuple[list[Task], int]:
        """The tasks `wanted` names, newest first, and how many it names in all."""
        rows, total = await newest_first(self._tasks, wanted.query(), limit, offset)
        return [Task.from_document(row) for row in rows], total

    async def owned(self, task_ids: list[str], user_id: str) -> list[Task]:
        """Those of the tasks that are the user's (a bounded list of ids), in no particular order."""
        found = self._tasks.find({"_id": {"$in": task_ids}, "user_id": user_id})
        return [Task.from_document(doc) async for doc in found]

    async def finished_on(self, channel_ids: list[str], since: str, sample: int) -> list[tuple[str, TaskStatus]]:
        """The `sample` most recent tasks of the channels finished since the stamp, as their
        channel and status only: one bounded query, however busy the channels are."""
        rows = await self._tasks.find(
            {"channel_id": {"$in": channel_ids}, "finished_at": {"$gte": since}},
            {"_id": 0, "channel_id": 1, "status": 1}).sort("finished_at", -1).limit(sample).to_list(sample)
        return [(row["channel_id"], TaskStatus(row["status"])) for row in rows]

    async def of_api(self, api: str, statuses: list[TaskStatus], order_by: str, limit: int, *,
                     latest_first: bool = False) -> list[Task]:
        """Up to `limit` tasks of one API in any of `statuses`, ordered by the field `order_by`."""
        query = {"api": api, "status": {"$in": [status.value for status in statuses]}}
        rows = await self._tasks.find(query).sort(order_by, -1 if latest_first else 1).limit(limit).to_list(limit)
        return [Task.from_document(row) for row in rows]

    async def reviews(self, state: str, limit: int, offset: int) -> tuple[list[Task], int]:
        """Tasks whose settlement review is in `state`, oldest flagged first (an equality on its
        index), as records of what a review page shows."""
        query = {"review.state": state}
        total = await self._tasks.count_documents(query)
        rows = await self._tasks.find(query, {"user_id": 1, "status": 1, "model": 1, "channel_id": 1, "hold_id": 1,
                                              "hold_amount": 1, "finished_at": 1, "review": 1}) \
            .sort("review.flagged_at", 1).skip(offset).limit(limit).to_list(limit)
        return [Task.from_document(row) for row in rows], total

    async def count_live(self, cap: int) -> int:
        """Live tasks, up to `cap`: one equality find per live status, ids only. Not a count and
        not `$in`: on the MongoDB stand-in both ignore the (status, next_poll_at) index and read
        every task (13 s over 100,000 stored), while an equality find on it stays in milliseconds."""
        seen = 0
        for status in ACTIVE:
            seen += len(await self._tasks.find({"status": status.value}, {"_id": 1}).limit(cap - seen).to_list(None))
            if seen >= cap:
                break
        return seen
