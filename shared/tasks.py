"""Task documents: every billable request is one, whichever path (async, sync, worker) made it.

Status changes are compare-and-swap updates, so a task becomes terminal exactly once whoever
sees it first (a poller, a webhook, a timeout sweep); only the winner publishes the event.
"""
from __future__ import annotations

import time
from typing import Any

from pymongo import ReturnDocument, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from shared import tracing
from shared.clock import stamp, stamp_in
from shared.due_loop import DueClaim
from shared.late_results import LATE_REASON
from shared.status import ACTIVE, TaskStatus
from shared.task_record import Task

POLLED_STATUSES = [s.value for s in ACTIVE]
SCHEDULE_FIELDS = {"next_poll_at": 1, "poll_lease_until": 1}


def _runs_of_polled_statuses() -> list[dict[str, str]]:
    """The polled statuses as the fewest `status` ranges: the names in sorted order, cut wherever
    a terminal status sorts between two. A single status is a range too, [s, s]: the MongoDB
    stand-in serves a closed range from the index, but not always an equality."""
    runs: list[list[str]] = []
    previous_polled = False
    for name in sorted(status.value for status in TaskStatus):
        polled = name in POLLED_STATUSES
        if polled and previous_polled:
            runs[-1].append(name)
        elif polled:
            runs.append([name])
        previous_polled = polled
    return [{"$gte": run[0], "$lte": run[-1]} for run in runs]


POLLED_STATUS_RUNS = _runs_of_polled_statuses()


class TaskStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self.tasks = db["tasks"]

    async def ensure_indexes(self) -> None:
        await self.tasks.create_index([("user_id", 1), ("created_at", -1)])
        await self.tasks.create_index([("status", 1), ("next_poll_at", 1)])
        await self.tasks.create_index([("settled", 1), ("status", 1)])
        # Reconciliation reads one channel's tasks that finished in a period (finished_on_channel).
        await self.tasks.create_index([("channel_id", 1), ("finished_at", 1)])
        await self.tasks.create_index([("unsettled_since", 1)])  # unsettled_terminal
        await self.tasks.create_index([("review.state", 1), ("review.flagged_at", 1)])  # GET /admin/reviews

    async def insert(self, task: dict[str, Any]) -> None:
        """Stores a new task; one stored already ended still awaits settlement (`unsettled_terminal`)."""
        ended = TaskStatus(task.get("status", TaskStatus.NOT_START.value)).is_terminal and not task.get("settled")
        # `traceparent`: the trace the processes that take the task up later continue (shared/tracing).
        await self.tasks.insert_one({"poll_lease_until": 0.0, "settled": False, **tracing.stored_context(), **task,
                                     **({"unsettled_since": task.get("finished_at") or stamp()} if ended else {})})

    async def get(self, task_id: str) -> dict[str, Any] | None:
        return await self.tasks.find_one({"_id": task_id})

    async def record(self, task_id: str) -> Task | None:
        """The task as a record (shared/task_record.py), for the readers that have moved to it."""
        doc = await self.get(task_id)
        return None if doc is None else Task.from_document(doc)

    async def records(self, task_ids: list[str]) -> list[Task]:
        """Those of the tasks that exist, as records, in one `_id` query (in no particular order)."""
        return [Task.from_document(doc) async for doc in self.tasks.find({"_id": {"$in": task_ids}})]

    async def get_owned(self, task_id: str, user_id: str) -> Task | None:
        """The user's task as a record; another user's answers None, like a missing one."""
        doc = await self.tasks.find_one({"_id": task_id, "user_id": user_id})
        return None if doc is None else Task.from_document(doc)

    async def delete(self, task_id: str) -> None:
        await self.tasks.delete_one({"_id": task_id})

    async def mark_submitted(self, task_id: str, upstream_task_id: str, first_poll_at: str,
                             progress: str | None) -> dict[str, Any] | None:
        return await self.tasks.find_one_and_update(
            {"_id": task_id, "status": TaskStatus.NOT_START.value},
            {"$set": {"status": TaskStatus.SUBMITTED.value, "upstream_task_id": upstream_task_id,
                      "progress": progress or "0%", "submitted_at": stamp(), "updated_at": stamp(),
                      "next_poll_at": first_poll_at}},
            return_document=ReturnDocument.AFTER)

    async def advance(self, seen: Task, status: TaskStatus, progress: str | None) -> dict[str, Any] | None:
        """A non-terminal change from the task as `seen` (status or progress); None when nothing
        changed, or when the task moved on since it was seen (its newer state wins).

        The filter names the exact values seen rather than "status or progress differs": an
        `$or` of `$ne` makes the MongoDB stand-in scan the collection (bench/sweep.py measures it)."""
        if (seen.status, seen.progress) == (status, progress):
            return None
        return await self.tasks.find_one_and_update(
            {"_id": seen.id, "status": seen.status.value, "progress": seen.progress},
            {"$set": {"status": status.value, "progress": progress, "updated_at": stamp()}},
            return_document=ReturnDocument.AFTER)

    async def finish(self, task_id: str, status: TaskStatus,
                     **fields: Any) -> tuple[str, dict[str, Any]] | None:
        """The one transition to a terminal status: the status it left and the task now; None
        when the task already was terminal. One round trip: the task now is the one before with
        this update applied."""
        assert status.is_terminal
        if status is TaskStatus.SUCCESS:
            fields.setdefault("progress", "100%")
        now = stamp()
        update = {"status": status.value, "finished_at": now, "updated_at": now, "unsettled_since": now, **fields}
        before = await self.tasks.find_one_and_update(
            {"_id": task_id, "status": {"$in": POLLED_STATUSES}},
            {"$set": update, "$unset": {"next_poll_at": ""}}, return_document=ReturnDocument.BEFORE)
        if before is None:
            return None
        after = {k: v for k, v in before.items() if k != "next_poll_at"}
        return before["status"], {**after, **update}

    async def record_late_result(self, task_id: str, late: dict[str, Any]) -> bool:
        """Records what the upstream said after we failed the task on timeout (shared/late_results.py):
        once, whoever reports it first (a late poll, a webhook, a redelivery); the status, the
        settlement and the money stay as they are. True when this call recorded it."""
        recorded = await self.tasks.update_one(
            {"_id": task_id, "status": TaskStatus.FAILURE.value, "fail_reason": LATE_REASON, "late_result": None},
            {"$set": {"late_result": late, "updated_at": stamp()}})
        return recorded.modified_count == 1

    async def served_by(self, task_id: str, channel_id: str, upstream_model: str) -> None:
        """Records the channel that took the work when an earlier one failed over to it (the
        poller queries that one); the price stays the one quoted when the hold was placed."""
        await self.tasks.update_one({"_id": task_id}, {"$set": {"channel_id": channel_id, "upstream_model": upstream_model,
                                                                "updated_at": stamp()}})

    async def postpone(self, task_id: str, next_poll_at: str) -> None:
        """Keeps the poller away from an active task for longer, e.g. a sync call whose answer
        streams past the call's timeout; were the gateway to die, the poller fails it then."""
        await self.tasks.update_one({"_id": task_id, "status": {"$in": POLLED_STATUSES}},
                                    {"$set": {"next_poll_at": next_poll_at, "updated_at": stamp()}})

    # --- polling -----------------------------------------------------------------------
    async def claim_due(self, limit: int, lease_s: float, token: str) -> DueClaim[Task]:
        """Leases up to `limit` tasks due for a poll, the longest due first; a dead poller's leases
        simply expire. Also answers the earliest `next_poll_at` of the live tasks, from the same read.

        The due ones are picked here from the live tasks' schedules (ids and two fields), read with
        a find per run of polled statuses (`POLLED_STATUS_RUNS`: two today) on the status index. On
        the MongoDB stand-in those stay flat however many ended tasks are stored (10 ms at 130,000),
        while one query with `status: $in` or a range on `next_poll_at` reads every stored task
        (1.7-5 s at 100,000). The work grows with the tasks in flight instead."""
        moment, now = stamp(), time.time()
        live = [task for run in POLLED_STATUS_RUNS
                for task in await self.tasks.find({"status": run}, SCHEDULE_FIELDS).to_list(None)]
        ready = [task for task in live if "next_poll_at" in task and task["next_poll_at"] <= moment
                 and float(task.get("poll_lease_until", now)) < now]
        ids = [task["_id"] for task in sorted(ready, key=lambda task: task["next_poll_at"])[:limit]]
        earliest = min((task["next_poll_at"] for task in live if "next_poll_at" in task), default=None)
        if not ids:
            return DueClaim([], earliest)
        # Still due and unleased (another poller may have taken one meanwhile). The status is
        # checked on what comes back instead: with it the stand-in reads every task again.
        await self.tasks.update_many(
            {"_id": {"$in": ids}, "next_poll_at": {"$lte": moment}, "poll_lease_until": {"$lt": now}},
            {"$set": {"poll_lease": token, "poll_lease_until": time.time() + lease_s}})
        leased = await self.tasks.find({"_id": {"$in": ids}, "poll_lease": token}).to_list(length=limit)
        return DueClaim([Task.from_document(task) for task in leased if task["status"] in POLLED_STATUSES],
                        earliest)  # one that ended meanwhile is left

    async def release_many(self, token: str, releases: list[tuple[str, str | None, dict[str, Any]]]) -> None:
        """Gives back a sweep's leases, each task with its next poll time (None: it ended, and
        keeps no schedule) and fields: one round trip for a whole batch."""
        if not releases:
            return
        await self.tasks.bulk_write([
            UpdateOne({"_id": task_id, "poll_lease": token},
                      {"$set": {"poll_lease_until": 0.0, **fields,
                                **({"next_poll_at": next_poll_at} if next_poll_at else {})}})
            for task_id, next_poll_at, fields in releases], ordered=False)

    def finished_on_channel(self, channel_id: str, since: str, until: str, fields: dict[str, int]):
        """The channel's tasks that finished in [since, until), oldest first, as a cursor: one
        range of the (channel_id, finished_at) index, however many tasks are stored."""
        return self.tasks.find({"channel_id": channel_id, "finished_at": {"$gte": since, "$lt": until}},
                               fields).sort("finished_at", 1)

    # --- settlement --------------------------------------------------------------------
    async def mark_settled_many(self, settled: list[tuple[str, dict[str, Any]]]) -> None:
        """Records each task's settlement: one round trip for a batch."""
        await self.tasks.bulk_write([
            UpdateOne({"_id": task_id}, {"$set": {"settled": True, "settlement": settlement, "updated_at": stamp()},
                                         "$unset": {"unsettled_since": ""}})
            for task_id, settlement in settled], ordered=False)

    async def unsettled_terminal(self, older_than_s: float, limit: int) -> list[dict[str, Any]]:
        """Terminal tasks whose settlement never happened (e.g. the event was lost), that ended
        `older_than_s` ago or more.

        `finish` stamps `unsettled_since` and settling removes it, so this is one range of its
        own index, bounded below as well: on the MongoDB stand-in an open range also reads every
        task that lacks the field, and a query on `settled` or `status: $in` reads every stored
        task (4 s at 130,000 stored; this, 5-16 ms)."""
        due = {"unsettled_since": {"$gt": "", "$lte": stamp_in(-older_than_s)}}
        found = await self.tasks.find(due).limit(limit).to_list(length=limit)
        return [task for task in found if not task.get("settled")]
