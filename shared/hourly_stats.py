"""Settled tasks counted per hour and per day, so the console's overview reads a few small
documents instead of scanning every task ever stored.

One document per (grain, dimension, bucket, key): `_id` `"h|model|2026-12-02T16:00:00.000000Z|video-x"` (grain
`h` an hour, `d` a day; dimension `all`, `model`, `channel` or `user`; key `-` for `all`), holding
`tasks`, `status_<STATUS>`, `charged`, `refunded` and `debt`, and its parts as fields (`grain`,
`dimension`, `bucket`, `key`): one dimension over a period is a range over their index
(`ensure_indexes`, run by settlement at start). The bucket is the hour the task finished.

Exact under redelivery, without transactions (the wallet's pattern: shared/ledger/store.py):
each increment is conditional on the document not listing the task in `applied` (`$nin`: the
stand-in reads `$ne` on an array wrongly), and adds it there in the same single-document update.
Settlement counts before it marks its tasks settled and removes the ids from `applied` after
(`forget_applied`): a crash before the mark brings the task
back, and its second count matches nothing; once marked, settlement never reaches the task again.
A crash between the mark and the removal leaves that batch's ids in `applied` for good, which
costs a few bytes and never a figure.

A first count of a document is an upsert; one that finds the task already applied fails on the
`_id` instead (duplicate key), and so does one that lost a race with another first insert. Those
are tried once more: the document exists then, so a second duplicate key means "applied".

A batch's tasks that share a document are counted there together, by one update conditional on
none of them being applied: a batch of settled tasks mostly shares its hour, day and model, so a
document is written once per batch rather than once per task. A combined update that fails on the
`_id` (one of its tasks was counted already, or a first insert raced) is redone one task at a time
as above, which is exact.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from shared.clock import stamp
from shared.ledger import SettleOutcome
from shared.task_record import Task

COLLECTION = "hourly_stats"
HOUR, DAY = "h", "d"
DIMENSIONS = ("all", "model", "channel", "user")
STATUS_FIELD = "status_"  # flat, not `status.SUCCESS`: the stand-in's upsert keeps a dotted name literally
_DUPLICATE_KEY = 11000
_KEPT = {HOUR: len("2026-12-02T16"), DAY: len("2026-12-02")}
_ZERO = "2026-12-02T00:00:00.000000Z"


def bucket_of(moment: str, grain: str) -> str:
    """The start of the hour or day of a stored timestamp, as a stored timestamp itself: the
    MongoDB stand-in matches a shorter "2026-12-02T16" wrongly (it finds nothing equal to it)."""
    return moment[:_KEPT[grain]] + _ZERO[_KEPT[grain]:]


def counter_ids(task: Task) -> list[str]:
    """Every document a settled task counts in."""
    # A moment a redelivery sees alike; the settling moment only for a task that stored neither.
    finished = task.finished_at or task.created_at or stamp()
    keys = {"all": "-", "model": task.model, "channel": task.channel_id, "user": task.user_id}
    return [f"{grain}|{dimension}|{bucket_of(finished, grain)}|{keys[dimension] or '-'}"
            for grain in (HOUR, DAY) for dimension in DIMENSIONS]


Settled = tuple[Task, SettleOutcome]


def _count(counter_id: str, settled: list[Settled]) -> UpdateOne:
    """Counts tasks in one document, all of them or (when one is applied there) none."""
    grain, dimension, bucket, key = counter_id.split("|", 3)
    inc: dict[str, int] = {"tasks": len(settled), "charged": 0, "refunded": 0, "debt": 0}
    for task, outcome in settled:
        status = STATUS_FIELD + task.status.value
        inc[status] = inc.get(status, 0) + 1
        inc["charged"] += outcome.charged
        inc["refunded"] += outcome.refunded
        inc["debt"] += outcome.debt
    ids = [task.id for task, _ in settled]
    return UpdateOne({"_id": counter_id, "applied": {"$nin": ids}}, {
        "$inc": inc, "$push": {"applied": {"$each": ids}},
        "$setOnInsert": {"grain": grain, "dimension": dimension, "bucket": bucket, "key": key}}, upsert=True)


async def count_settled(db: AsyncDatabase, settled: list[Settled]) -> None:
    """Counts each settled task once in each of its documents: one bulk write with one update per
    document (then, where one met a duplicate key, up to two with one per task and document)."""
    per_counter: dict[str, list[Settled]] = defaultdict(list)
    for task, outcome in {task.id: (task, outcome) for task, outcome in settled}.values():
        for counter_id in counter_ids(task):
            per_counter[counter_id].append((task, outcome))
    together = list(per_counter.items())
    failed = await _duplicates(db, [_count(counter_id, tasks) for counter_id, tasks in together])
    singles = [(counter_id, [one]) for counter_id, tasks in (together[index] for index in failed) for one in tasks]
    for _ in range(2):
        if not singles:
            return
        failed = await _duplicates(db, [_count(counter_id, tasks) for counter_id, tasks in singles])
        singles = [singles[index] for index in failed]


async def forget_applied(db: AsyncDatabase, tasks: list[Task]) -> None:
    """Drops settled tasks from the `applied` lists once they are marked settled: one bulk write."""
    per_counter: dict[str, list[str]] = defaultdict(list)
    for task in tasks:
        for counter_id in counter_ids(task):
            per_counter[counter_id].append(task.id)
    await db[COLLECTION].bulk_write([UpdateOne({"_id": counter_id}, {"$pull": {"applied": {"$in": ids}}})
                                     for counter_id, ids in per_counter.items()], ordered=False)


async def _duplicates(db: AsyncDatabase, operations: list[UpdateOne]) -> list[int]:
    """Writes the operations; the indexes of those that failed on a duplicate `_id` (any other
    error is raised)."""
    if not operations:
        return []
    try:
        await db[COLLECTION].bulk_write(operations, ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(error.get("code") != _DUPLICATE_KEY for error in errors):
            raise
        return sorted(error["index"] for error in errors)
    return []


@dataclass
class Totals:
    """What the counters say about one key over a period."""
    key: str
    tasks: int = 0
    charged: int = 0
    refunded: int = 0
    debt: int = 0
    status: dict[str, int] = field(default_factory=dict)

    def add(self, doc: dict[str, Any]) -> None:
        self.tasks += int(doc.get("tasks", 0))
        self.charged += int(doc.get("charged", 0))
        self.refunded += int(doc.get("refunded", 0))
        self.debt += int(doc.get("debt", 0))
        for name, count in doc.items():
            if name.startswith(STATUS_FIELD):
                status = name.removeprefix(STATUS_FIELD)
                self.status[status] = self.status.get(status, 0) + int(count)


async def ensure_indexes(db: AsyncDatabase) -> None:
    await db[COLLECTION].create_index([("grain", 1), ("dimension", 1), ("bucket", 1)])


async def read_counters(db: AsyncDatabase, grain: str, dimension: str, since_bucket: str) -> list[dict[str, Any]]:
    """A dimension's documents of one grain from `since_bucket` on: one range query over the
    (grain, dimension, bucket) index, so it reads what it returns (an `_id` prefix range reads the
    whole collection on the MongoDB stand-in)."""
    return await db[COLLECTION].find({"grain": grain, "dimension": dimension, "bucket": {"$gte": since_bucket}},
                                     {"applied": 0}).to_list(None)


def totals_by_key(docs: list[dict[str, Any]]) -> dict[str, Totals]:
    result: dict[str, Totals] = {}
    for doc in docs:
        result.setdefault(doc["key"], Totals(doc["key"])).add(doc)
    return result


def totals_by_bucket(docs: list[dict[str, Any]]) -> dict[str, Totals]:
    result: dict[str, Totals] = {}
    for doc in docs:
        result.setdefault(doc["bucket"], Totals(doc["bucket"])).add(doc)
    return result
