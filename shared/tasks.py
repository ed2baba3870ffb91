"""Task documents: every billable request is one, whichever path (async, sync, worker) made it.

Status changes are compare-and-swap updates, so a task becomes terminal exactly once whoever
sees it first (a poller, a webhook, a timeout sweep); only the winner publishes the event.

Due-queue (issue 17, scale): the poller's claim is a sorted query, and on the MongoDB stand-in a
query that is not an `_id` lookup costs in proportion to the collection it runs on; `tasks` keeps
everything ever stored (7 s per claim at 50k tasks). So the schedule is mirrored into `task_due`,
one small document per live (non-terminal) task: `_id` = task id, `next_poll_at`, lease. The claim
sorts only that collection and then reads the leased tasks by `_id`; the task document stays the
truth (status, and the same `next_poll_at` / `poll_lease_until` fields as before, which readers keep
using).

Crash safety, by the order of writes: an entry is written *before* the task is inserted, and
removed only *after* the task became terminal. A crash between the two leaves an entry without a
live task, never a live task without an entry; the claim drops such an entry when it meets it (a
missing task only after `ORPHAN_GRACE_S`, as its insert may still be on its way). A schedule moved
later (`postpone`) moves the entry first, one moved earlier (`mark_submitted`) the task first, so a
crash between the two leaves the entry at the earlier or the safe time. Tasks stored before the
queue existed, or by a process that died mid-write in some other way, are put back by
`repair_due_queue` (one scan of the live tasks), which the poller runs at start and every
`POLL_DUE_REPAIR_S`: a bounded, rare cost instead of one on every claim.
"""
from __future__ import annotations

import time
from typing import Any

from pymongo import DeleteOne, ReturnDocument, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from shared.clock import stamp, stamp_in
from shared.status import ACTIVE, TaskStatus

POLLED_STATUSES = [s.value for s in ACTIVE]
ORPHAN_GRACE_S = 60.0  # an entry whose task is missing is dropped only this long after it was written


class TaskStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self.tasks = db["tasks"]
        self.due = db["task_due"]

    async def ensure_indexes(self) -> None:
        await self.tasks.create_index([("user_id", 1), ("created_at", -1)])
        await self.tasks.create_index([("status", 1), ("next_poll_at", 1)])
        await self.tasks.create_index([("settled", 1), ("status", 1)])

    async def insert(self, task: dict[str, Any]) -> None:
        if task.get("next_poll_at") and task.get("status", TaskStatus.NOT_START.value) in POLLED_STATUSES:
            await self._schedule(task["_id"], task["next_poll_at"])  # first: a crash leaves an orphan, not a lost task
        await self.tasks.insert_one({"poll_lease_until": 0.0, "settled": False, **task})

    async def get(self, task_id: str) -> dict[str, Any] | None:
        return await self.tasks.find_one({"_id": task_id})

    async def get_owned(self, task_id: str, user_id: str) -> dict[str, Any] | None:
        return await self.tasks.find_one({"_id": task_id, "user_id": user_id})

    async def delete(self, task_id: str) -> None:
        await self.tasks.delete_one({"_id": task_id})
        await self.due.delete_one({"_id": task_id})

    async def mark_submitted(self, task_id: str, upstream_task_id: str, first_poll_at: str,
                             progress: str | None) -> dict[str, Any] | None:
        if submitted := await self.tasks.find_one_and_update(
                {"_id": task_id, "status": TaskStatus.NOT_START.value},
                {"$set": {"status": TaskStatus.SUBMITTED.value, "upstream_task_id": upstream_task_id,
                          "progress": progress or "0%", "submitted_at": stamp(), "updated_at": stamp(),
                          "next_poll_at": first_poll_at}},
                return_document=ReturnDocument.AFTER):
            await self._schedule(task_id, first_poll_at)  # after: a crash keeps the later deadline
        return submitted

    async def advance(self, seen: dict[str, Any], status: TaskStatus, progress: str | None) -> dict[str, Any] | None:
        """A non-terminal change from the task as `seen` (status or progress); None when nothing
        changed, or when the task moved on since it was seen (its newer state wins).

        The filter names the exact values seen rather than "status or progress differs": an
        `$or` of `$ne` makes the MongoDB stand-in scan the collection (bench/sweep.py measures it)."""
        if (seen["status"], seen.get("progress")) == (status.value, progress):
            return None
        return await self.tasks.find_one_and_update(
            {"_id": seen["_id"], "status": seen["status"], "progress": seen.get("progress")},
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
        update = {"status": status.value, "finished_at": now, "updated_at": now, **fields}
        before = await self.tasks.find_one_and_update(
            {"_id": task_id, "status": {"$in": POLLED_STATUSES}},
            {"$set": update, "$unset": {"next_poll_at": ""}}, return_document=ReturnDocument.BEFORE)
        if before is None:
            return None
        await self.due.delete_one({"_id": task_id})  # after the task ended: a crash leaves an orphan entry
        after = {k: v for k, v in before.items() if k != "next_poll_at"}
        return before["status"], {**after, **update}

    async def served_by(self, task_id: str, channel_id: str, upstream_model: str) -> None:
        """Records the channel that took the work when an earlier one failed over to it (the
        poller queries that one); the price stays the one quoted when the hold was placed."""
        await self.tasks.update_one({"_id": task_id}, {"$set": {"channel_id": channel_id, "upstream_model": upstream_model,
                                                                "updated_at": stamp()}})

    async def postpone(self, task_id: str, next_poll_at: str) -> None:
        """Keeps the poller away from an active task for longer, e.g. a sync call whose answer
        streams past the call's timeout; were the gateway to die, the poller fails it then."""
        await self._schedule(task_id, next_poll_at)  # first: a crash keeps the poller away, as asked
        await self.tasks.update_one({"_id": task_id, "status": {"$in": POLLED_STATUSES}},
                                    {"$set": {"next_poll_at": next_poll_at, "updated_at": stamp()}})

    async def _schedule(self, task_id: str, next_poll_at: str) -> None:
        await self.due.update_one({"_id": task_id}, {"$set": {"next_poll_at": next_poll_at, "written_at": time.time()},
                                                     "$setOnInsert": {"lease": None, "lease_until": 0.0}},
                                  upsert=True)

    async def repair_due_queue(self) -> int:
        """Puts back the entry of every live task that has none (tasks stored before the queue, or
        a write lost some other way); an entry that exists is left as it is. One scan of `tasks`:
        run at start and rarely. Returns how many entries it added."""
        have = {doc["_id"] async for doc in self.due.find({}, {"_id": 1})}
        missing = [UpdateOne({"_id": t["_id"]}, {"$setOnInsert": {
                       "next_poll_at": t.get("next_poll_at") or stamp(), "written_at": time.time(),
                       "lease": None, "lease_until": 0.0}}, upsert=True)
                   async for t in self.tasks.find({"status": {"$in": POLLED_STATUSES}}, {"next_poll_at": 1})
                   if t["_id"] not in have]
        if missing:
            await self.due.bulk_write(missing, ordered=False)
        return len(missing)

    # --- polling -----------------------------------------------------------------------
    async def claim_due(self, limit: int, lease_s: float, token: str) -> list[dict[str, Any]]:
        """Leases up to `limit` tasks due for a poll; a dead poller's leases simply expire.

        The sorted query runs on the due-queue (live tasks only), the tasks are read by `_id`.
        An entry whose task ended is dropped here (a crash between `finish`'s two writes)."""
        due = {"next_poll_at": {"$lte": stamp()}, "lease_until": {"$lt": time.time()}}
        ids = [doc["_id"] async for doc in self.due.find(due, {"_id": 1}).sort("next_poll_at", 1).limit(limit)]
        if not ids:
            return []
        until = time.time() + lease_s
        await self.due.update_many({**due, "_id": {"$in": ids}}, {"$set": {"lease": token, "lease_until": until}})
        entries = {e["_id"]: e async for e in self.due.find({"_id": {"$in": ids}, "lease": token})}
        if not entries:
            return []
        await self.tasks.update_many({"_id": {"$in": list(entries)}, "status": {"$in": POLLED_STATUSES}},
                                     {"$set": {"poll_lease": token, "poll_lease_until": until}})
        leased = await self.tasks.find({"_id": {"$in": list(entries)}, "poll_lease": token,
                                        "status": {"$in": POLLED_STATUSES}}).to_list(length=limit)
        live = {t["_id"] for t in leased}
        stale = [i for i, e in entries.items() if i not in live]
        if stale:  # ended, or missing past the grace (its insert may still be coming otherwise)
            ended = {t["_id"] async for t in self.tasks.find({"_id": {"$in": stale}}, {"_id": 1})}
            old = time.time() - ORPHAN_GRACE_S
            drop = [i for i in stale if i in ended or float(entries[i].get("written_at") or 0) < old]
            if drop:
                await self.due.delete_many({"_id": {"$in": drop}, "lease": token})
        return leased

    async def release_many(self, token: str, releases: list[tuple[str, str | None, dict[str, Any]]]) -> None:
        """Gives back a sweep's leases, each task with its next poll time (None: it ended, and
        keeps no schedule) and fields: one round trip for a whole batch."""
        if not releases:
            return
        await self.due.bulk_write([
            DeleteOne({"_id": task_id, "lease": token}) if next_poll_at is None else
            UpdateOne({"_id": task_id, "lease": token},
                      {"$set": {"lease": None, "lease_until": 0.0, "next_poll_at": next_poll_at}})
            for task_id, next_poll_at, _ in releases], ordered=False)
        await self.tasks.bulk_write([
            UpdateOne({"_id": task_id, "poll_lease": token},
                      {"$set": {"poll_lease_until": 0.0, **fields,
                                **({"next_poll_at": next_poll_at} if next_poll_at else {})}})
            for task_id, next_poll_at, fields in releases], ordered=False)

    # --- settlement --------------------------------------------------------------------
    async def mark_settled_many(self, settled: list[tuple[str, dict[str, Any]]]) -> None:
        """Records each task's settlement: one round trip for a batch."""
        await self.tasks.bulk_write([
            UpdateOne({"_id": task_id}, {"$set": {"settled": True, "settlement": settlement, "updated_at": stamp()}})
            for task_id, settlement in settled], ordered=False)

    async def unsettled_terminal(self, older_than_s: float, limit: int) -> list[dict[str, Any]]:
        """Terminal tasks whose settlement never happened (e.g. the event was lost)."""
        cutoff = stamp_in(-older_than_s)
        query = {"status": {"$in": [TaskStatus.SUCCESS.value, TaskStatus.FAILURE.value]},
                 "settled": {"$ne": True}, "finished_at": {"$lte": cutoff}}
        return await self.tasks.find(query).limit(limit).to_list(length=limit)
