"""Task documents: every billable request is one, whichever path (async, sync, worker) made it.

Status changes are compare-and-swap updates, so a task becomes terminal exactly once whoever
sees it first (a poller, a webhook, a timeout sweep); only the winner publishes the event.
"""
from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
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

    async def insert(self, task: Task, next_poll_at: str | None = None) -> None:
        """Stores a new task, due for the poller at `next_poll_at` (None: never polled); one stored
        already ended still awaits settlement (`unsettled_terminal`)."""
        ended = task.status.is_terminal and not task.settled
        # `traceparent`: the trace the processes that take the task up later continue (shared/tracing).
        await self.tasks.insert_one({"poll_lease_until": 0.0, **tracing.stored_context(), **task.to_document(),
                                     **({"next_poll_at": next_poll_at} if next_poll_at else {}),
                                     **({"unsettled_since": task.finished_at or stamp()} if ended else {})})

    async def record(self, task_id: str) -> Task | None:
        return _record(await self.tasks.find_one({"_id": task_id}))

    async def records(self, task_ids: list[str], statuses: list[TaskStatus] | None = None) -> list[Task]:
        """Those of the tasks that exist (and are in one of `statuses`, when given), as records, in
        one `_id` query (in no particular order)."""
        query: dict[str, Any] = {"_id": {"$in": task_ids}}
        if statuses is not None:
            query["status"] = {"$in": [status.value for status in statuses]}
        return [Task.from_document(doc) async for doc in self.tasks.find(query)]

    async def statuses(self, task_ids: list[str]) -> dict[str, TaskStatus]:
        """The status of each of the tasks that exist, reading nothing else of them."""
        return {doc["_id"]: TaskStatus(doc["status"])
                async for doc in self.tasks.find({"_id": {"$in": task_ids}}, {"status": 1})}

    async def get_owned(self, task_id: str, user_id: str) -> Task | None:
        """The user's task as a record; another user's answers None, like a missing one."""
        return _record(await self.tasks.find_one({"_id": task_id, "user_id": user_id}))

    async def delete(self, task_id: str) -> None:
        await self.tasks.delete_one({"_id": task_id})

    async def mark_submitted(self, task_id: str, upstream_task_id: str, first_poll_at: str,
                             progress: str | None) -> Task | None:
        """The task once the upstream accepted it; None when it left NOT_START meanwhile."""
        return _record(await self.tasks.find_one_and_update(
            {"_id": task_id, "status": TaskStatus.NOT_START.value},
            {"$set": {"status": TaskStatus.SUBMITTED.value, "upstream_task_id": upstream_task_id,
                      "progress": progress or "0%", "submitted_at": stamp(), "updated_at": stamp(),
                      "next_poll_at": first_poll_at}},
            return_document=ReturnDocument.AFTER))

    async def advance(self, seen: Task, status: TaskStatus, progress: str | None) -> Task | None:
        """A non-terminal change from the task as `seen` (status or progress); None when nothing
        changed, or when the task moved on since it was seen (its newer state wins).

        The filter names the exact values seen rather than "status or progress differs": an
        `$or` of `$ne` makes the MongoDB stand-in scan the collection (bench/sweep.py measures it)."""
        if (seen.status, seen.progress) == (status, progress):
            return None
        return _record(await self.tasks.find_one_and_update(
            _as_seen(seen), {"$set": _advanced(status, progress)}, return_document=ReturnDocument.AFTER))

    async def finish(self, task_id: str, status: TaskStatus,
                     **fields: Any) -> tuple[TaskStatus, Task] | None:
        """The one transition to a terminal status: the status it left and the task now; None
        when the task already was terminal. One round trip: the task now is the one before with
        this update applied."""
        update = _finished(status, fields)
        before = await self.tasks.find_one_and_update(
            {"_id": task_id, "status": {"$in": POLLED_STATUSES}},
            {"$set": update, "$unset": {"next_poll_at": ""}}, return_document=ReturnDocument.BEFORE)
        if before is None:
            return None
        return TaskStatus(before["status"]), Task.from_document({**before, **update})

    async def change_many(self, changes: list[SeenChange],
                          lease: PollLease | None = None) -> list[tuple[TaskStatus, Task] | None]:
        """Each change made unless the task moved on since it was seen, as `advance` and `finish`
        make one, in one bulk write for them all: a sweep's batch costs one round trip, not one
        per task. Answers, per change, the status it left and the task now, or None.

        With the sweep's `lease`, each write also gives the lease back, as `release_many` would
        (one write per task where there were two), and applies only while the sweep holds it;
        a task whose lease was taken over meanwhile is left to its new holder, or, for a
        terminal change, ended by `finish` alone, whose task keeps the spent lease (it is never
        polled again).

        Each write names the task exactly as seen (status and progress), so while no task moved
        on, the task now is the one seen with the update applied. When fewer tasks changed than
        were written to, one `_id` read tells which writes took (each stamped its `updated_at`); a
        terminal change whose task moved on is then made by `finish` alone, which ends a task
        from any active state, and a non-terminal one is dropped (the newer state wins)."""
        writes = [_change_write(change, lease) for change in changes]
        wanted = [write for write in writes if write is not None]
        if not wanted:
            return [None] * len(changes)
        held = {"poll_lease": lease.token} if lease else {}
        result = await self.tasks.bulk_write([UpdateOne({**_as_seen(change.seen), **held}, update)
                                              for change, update, _ in wanted], ordered=False)
        taken = {change.seen.id for change, _, _ in wanted}
        if result.modified_count < len(wanted):
            taken = await self._written({change.seen.id: fields["updated_at"] for change, _, fields in wanted})
        outcomes: list[tuple[TaskStatus, Task] | None] = []
        for change, write in zip(changes, writes):
            if write is not None and change.seen.id in taken:
                after = Task.from_document({**change.seen.to_document(), **write[2]})
                outcomes.append((change.seen.status, after))
            elif write is not None and change.status.is_terminal:
                outcomes.append(await self.finish(change.seen.id, change.status, **change.fields))
            else:
                outcomes.append(None)
        return outcomes

    async def _written(self, stamps: dict[str, str]) -> set[str]:
        """Which of the tasks carry the `updated_at` a write of ours stamped."""
        return {doc["_id"] async for doc in self.tasks.find({"_id": {"$in": list(stamps)}}, {"updated_at": 1})
                if doc.get("updated_at") == stamps[doc["_id"]]}

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

    # --- worker dispatch (services/gateway/workers/queue.py) ----------------------------
    async def start_on_worker(self, task_id: str, waiting: list[TaskStatus], worker_id: str, enqueued_ms: int,
                              started_ms: int) -> Task | None:
        """The task, still `waiting`, now the worker's (IN_PROGRESS); None if it moved on."""
        return _record(await self.tasks.find_one_and_update(
            {"_id": task_id, "status": {"$in": [status.value for status in waiting]}},
            {"$set": {"status": TaskStatus.IN_PROGRESS.value, "worker_id": worker_id, "started_ms": started_ms,
                      "enqueued_ms": enqueued_ms, "updated_at": stamp()}},
            return_document=ReturnDocument.AFTER))

    async def back_to_queue(self, task: Task) -> bool:
        """The task the worker claimed, QUEUED again with no worker; False if it moved on."""
        returned = await self.tasks.find_one_and_update(
            {"_id": task.id, "status": TaskStatus.IN_PROGRESS.value, "worker_id": task.worker_id},
            {"$set": {"status": TaskStatus.QUEUED.value, "updated_at": stamp()},
             "$unset": {"worker_id": "", "started_ms": ""}})
        return returned is not None

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

    async def finished_on_channel(self, channel_id: str, since: str, until: str,
                                  fields: list[str]) -> AsyncIterator[Task]:
        """The channel's tasks that finished in [since, until), oldest first, as records of only
        `fields` (and what every record has), read as they stream: one range of the
        (channel_id, finished_at) index, however many tasks are stored."""
        projection = dict.fromkeys(("_id", "user_id", "status", *fields), 1)
        async for doc in self.tasks.find({"channel_id": channel_id, "finished_at": {"$gte": since, "$lt": until}},
                                         projection).sort("finished_at", 1):
            yield Task.from_document(doc)

    # --- settlement --------------------------------------------------------------------
    async def mark_settled_many(self, settled: list[tuple[str, dict[str, Any]]]) -> None:
        """Records each task's settlement: one round trip for a batch."""
        await self.tasks.bulk_write([
            UpdateOne({"_id": task_id}, {"$set": {"settled": True, "settlement": settlement, "updated_at": stamp()},
                                         "$unset": {"unsettled_since": ""}})
            for task_id, settlement in settled], ordered=False)

    # --- reviews of capped settlements (shared/settlement_review.py) -------------------
    async def flag_reviews(self, reviews: list[tuple[str, dict[str, Any]]]) -> None:
        """Sets each task's review unless it has one (a resumed settlement): one round trip."""
        if reviews:
            await self.tasks.bulk_write([
                UpdateOne({"_id": task_id, "review": {"$exists": False}}, {"$set": {"review": review}})
                for task_id, review in reviews], ordered=False)

    async def decide_review(self, task_id: str, decision: str) -> Task | None:
        """The task with its pending review now `decision`; None when none was pending."""
        return _record(await self.tasks.find_one_and_update(
            {"_id": task_id, "review.state": "pending"},
            {"$set": {"review.state": decision, "review.decided_at": stamp()}},
            return_document=ReturnDocument.AFTER))

    async def review_charged(self, task_id: str, charged: int, debt: int) -> None:
        await self.tasks.update_one({"_id": task_id}, {"$set": {"review.charged": charged, "review.debt": debt}})

    async def unsettled_terminal(self, older_than_s: float, limit: int) -> list[Task]:
        """Terminal tasks whose settlement never happened (e.g. the event was lost), that ended
        `older_than_s` ago or more.

        `finish` stamps `unsettled_since` and settling removes it, so this is one range of its
        own index, bounded below as well: on the MongoDB stand-in an open range also reads every
        task that lacks the field, and a query on `settled` or `status: $in` reads every stored
        task (4 s at 130,000 stored; this, 5-16 ms)."""
        due = {"unsettled_since": {"$gt": "", "$lte": stamp_in(-older_than_s)}}
        found = await self.tasks.find(due).limit(limit).to_list(length=limit)
        return [Task.from_document(task) for task in found if not task.get("settled")]


def _record(doc: dict[str, Any] | None) -> Task | None:
    return None if doc is None else Task.from_document(doc)


@dataclass(frozen=True)
class PollLease:
    """A sweep's lease on the tasks it polls (`claim_due`), and when those still active are due
    again: the writes that change them give it back (`change_many`)."""
    token: str
    next_poll_at: str


@dataclass(frozen=True)
class SeenChange:
    """A change to a task from the state it was `seen` in: to `status`, with a new `progress`
    (non-terminal) or the outcome's `fields` (terminal, as `finish` takes them)."""
    seen: Task
    status: TaskStatus
    progress: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)


def _as_seen(seen: Task) -> dict[str, Any]:
    return {"_id": seen.id, "status": seen.status.value, "progress": seen.progress}


def _advanced(status: TaskStatus, progress: str | None) -> dict[str, Any]:
    return {"status": status.value, "progress": progress, "updated_at": stamp()}


def _finished(status: TaskStatus, fields: dict[str, Any]) -> dict[str, Any]:
    """What a terminal change sets (it also drops the task's `next_poll_at`)."""
    assert status.is_terminal
    if status is TaskStatus.SUCCESS:
        fields = {"progress": "100%", **fields}
    now = stamp()
    return {"status": status.value, "finished_at": now, "updated_at": now, "unsettled_since": now, **fields}


def _change_write(change: SeenChange, lease: PollLease | None,
                  ) -> tuple[SeenChange, dict[str, Any], dict[str, Any]] | None:
    """The change, its update and the task fields it sets; None for a non-terminal change that
    changes nothing. With a lease, the update also gives it back (as `release_many` does)."""
    released = {"poll_lease_until": 0.0, "poll_errors": 0} if lease else {}
    if change.status.is_terminal:
        fields = _finished(change.status, change.fields)
        return change, {"$set": {**fields, **released}, "$unset": {"next_poll_at": ""}}, fields
    if (change.seen.status, change.seen.progress) == (change.status, change.progress):
        return None
    fields = _advanced(change.status, change.progress)
    due = {"next_poll_at": lease.next_poll_at} if lease else {}
    return change, {"$set": {**fields, **released, **due}}, fields
