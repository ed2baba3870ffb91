"""Consumption logs: exactly one per settled task, keyed by the task id. `write_logs` writes
them; `ConsumptionLogs` is how every entry point reads them (its filter, page, totals and export)."""
from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from shared.clock import parse, stamp
from shared.ledger import SettleOutcome
from shared.listing import newest_first, within
from shared.task_record import Task

COLLECTION = "consumption_logs"


async def write_logs(db: AsyncDatabase, settled: list[tuple[Task, SettleOutcome]]) -> None:
    """One log per settled task, upserted by task id in one bulk write, so settling the same task
    again never writes a second log."""
    await db[COLLECTION].bulk_write([
        UpdateOne({"_id": task.id}, {"$setOnInsert": LogEntry.of_settled(task, outcome).document()}, upsert=True)
        for task, outcome in settled], ordered=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class LogEntry:
    """One consumption log, as stored under its task's id: what the task was (user, key, model,
    channel, mode, status), what its hold was and what settling it charged, refunded and left as
    debt, its usage and price ratio. `review` is set when a channel guardrail capped the charge
    (an admin's decision updates it); `note` explains a debt."""
    task_id: str
    user_id: str
    key_id: str | None = None
    model: str
    channel_id: str | None = None
    mode: str = "async"
    hold_id: str | None = None
    hold: int
    quota: int
    refund: int
    debt: int = 0
    usage: Any = None
    price_ratio: str = "1"
    status: str
    fail_reason: str | None = None
    duration_s: float | None = None
    created_at: str
    review: dict[str, Any] | None = None
    note: str | None = None

    @classmethod
    def of_settled(cls, task: Task, settled: SettleOutcome) -> LogEntry:
        finished = parse(task.finished_at or stamp())
        return cls(
            task_id=task.id, user_id=task.user_id, key_id=task.key_id, model=task.model,
            channel_id=task.channel_id, mode=task.mode, hold_id=task.hold_id,
            hold=settled.hold, quota=settled.charged, refund=settled.refunded, debt=settled.debt,
            usage=task.usage, price_ratio=task.price_ratio, status=task.status.value, fail_reason=task.fail_reason,
            duration_s=round((finished - parse(task.created_at)).total_seconds(), 3) if task.created_at else None,
            created_at=stamp(), review=task.review or None,
            note=f"shortfall of {settled.debt} could not be covered by the wallet and is recorded as debt"
            if settled.debt else None)

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> LogEntry:
        return cls(**{name: doc[name] for name in _LOG_FIELDS if name in doc} | {"task_id": doc["_id"]})

    def document(self) -> dict[str, Any]:
        """The stored fields (the `_id` is the task's id); `review` and `note` only when set."""
        fields = {name: getattr(self, name) for name in _LOG_FIELDS}
        return {name: value for name, value in fields.items() if value is not None or name not in _ONLY_WHEN_SET}

    def view(self) -> dict[str, Any]:
        """The row the APIs and the CSV export show: the stored fields, the id, the receipt's path."""
        return {"id": self.task_id, **self.document(), "receipt": receipt_path(self.task_id)}


_LOG_FIELDS = tuple(field.name for field in dataclasses.fields(LogEntry))
_ONLY_WHEN_SET = {"review", "note"}


def receipt_path(task_id: str) -> str:
    """Where the task's owner reads its signed receipt (`shared.task_receipts`), whichever API made it."""
    return f"/api/task/{task_id}/receipt"


@dataclass(frozen=True)
class LogFilter:
    """Which logs a list shows: each field given narrows it, an empty one leaves it open; the
    period bounds the log's `created_at` (when its task settled), `until` excluded."""
    user_id: str | None = None
    model: str | None = None
    channel_id: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def query(self) -> dict[str, Any]:
        fields = {"user_id": self.user_id, "model": self.model, "channel_id": self.channel_id, "status": self.status}
        query: dict[str, Any] = {name: value for name, value in fields.items() if value}
        if (created := within(self.since, self.until)):
            query["created_at"] = created
        return query


class ConsumptionLogs:
    """The only code that names the collection (settlement writes through `write_logs`)."""

    def __init__(self, db: AsyncDatabase) -> None:
        self._logs = db[COLLECTION]

    async def of_task(self, task_id: str) -> LogEntry | None:
        found = await self._logs.find_one({"_id": task_id})
        return None if found is None else LogEntry.from_document(found)

    async def page(self, wanted: LogFilter, limit: int, offset: int) -> tuple[list[LogEntry], int]:
        """The logs `wanted` names, newest first, and how many it names in all."""
        rows, total = await newest_first(self._logs, wanted.query(), limit, offset)
        return [LogEntry.from_document(row) for row in rows], total

    async def set_review(self, task_id: str, review: dict[str, Any]) -> None:
        """Records an admin's decision on a capped charge in the task's log."""
        await self._logs.update_one({"_id": task_id}, {"$set": {"review": review}})

    async def totals(self, wanted: LogFilter, field: str, shown: int) -> list[dict[str, Any]]:
        """Per value of `field` (a model, a channel, a user), the logs' count, quota and refund,
        the `shown` largest by quota: aggregated in the database, so a period of any size is cheap."""
        return await (await self._logs.aggregate([
            {"$match": wanted.query()},
            {"$group": {"_id": f"${field}", "count": {"$sum": 1}, "quota": {"$sum": "$quota"},
                        "refund": {"$sum": "$refund"}}},
            {"$sort": {"quota": -1}}, {"$limit": shown},
        ])).to_list(shown)

    async def every(self, wanted: LogFilter) -> AsyncIterator[LogEntry]:
        """Every log `wanted` names, newest first, read in batches (an export of any length)."""
        async for log in self._logs.find(wanted.query()).sort("created_at", -1).batch_size(500):
            yield LogEntry.from_document(log)
