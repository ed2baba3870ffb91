"""Consumption logs: exactly one per settled task, keyed by the task id. `write_logs` writes
them; `ConsumptionLogs` is how every entry point reads them (its filter, page, totals and export)."""
from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from shared.clock import parse, stamp
from shared.ledger import SettleOutcome
from shared.listing import newest_first, within

COLLECTION = "consumption_logs"


async def write_logs(db: AsyncDatabase, settled: list[tuple[dict[str, Any], SettleOutcome]]) -> None:
    """One log per settled task, upserted by task id in one bulk write, so settling the same task
    again never writes a second log."""
    await db[COLLECTION].bulk_write([
        UpdateOne({"_id": task["_id"]}, {"$setOnInsert": consumption_log(task, outcome)}, upsert=True)
        for task, outcome in settled], ordered=False)


def consumption_log(task: dict[str, Any], settled: SettleOutcome) -> dict[str, Any]:
    created = task.get("created_at")
    finished = parse(task.get("finished_at") or stamp())
    log = {
        "user_id": task["user_id"], "key_id": task.get("key_id"), "model": task["model"],
        "channel_id": task.get("channel_id"), "task_id": task["_id"], "mode": task.get("mode", "async"),
        "hold_id": task.get("hold_id"), "hold": settled.hold, "quota": settled.charged,
        "refund": settled.refunded, "debt": settled.debt, "usage": task.get("usage"),
        "price_ratio": (task.get("billing") or {}).get("price_ratio", "1"),
        "status": task["status"], "fail_reason": task.get("fail_reason"),
        "duration_s": round((finished - parse(created)).total_seconds(), 3) if created else None,
        "created_at": stamp(),
    }
    if task.get("review"):  # capped by a channel guardrail; an admin's decision updates it
        log["review"] = task["review"]
    if settled.debt:
        log["note"] = f"shortfall of {settled.debt} could not be covered by the wallet and is recorded as debt"
    return log


def receipt_path(task_id: str) -> str:
    """Where the task's owner reads its signed receipt (`shared.task_receipts`), whichever API made it."""
    return f"/api/task/{task_id}/receipt"


def log_view(log: dict[str, Any]) -> dict[str, Any]:
    return {"id": log["_id"], **{k: v for k, v in log.items() if k != "_id"}, "receipt": receipt_path(log["_id"])}


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
    def __init__(self, db: AsyncDatabase) -> None:
        self._logs = db[COLLECTION]

    async def of_task(self, task_id: str) -> dict[str, Any] | None:
        return await self._logs.find_one({"_id": task_id})

    async def page(self, wanted: LogFilter, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        """The logs `wanted` names, newest first, and how many it names in all."""
        return await newest_first(self._logs, wanted.query(), limit, offset)

    async def totals(self, wanted: LogFilter, field: str, shown: int) -> list[dict[str, Any]]:
        """Per value of `field` (a model, a channel, a user), the logs' count, quota and refund,
        the `shown` largest by quota: aggregated in the database, so a period of any size is cheap."""
        return await (await self._logs.aggregate([
            {"$match": wanted.query()},
            {"$group": {"_id": f"${field}", "count": {"$sum": 1}, "quota": {"$sum": "$quota"},
                        "refund": {"$sum": "$refund"}}},
            {"$sort": {"quota": -1}}, {"$limit": shown},
        ])).to_list(shown)

    async def every(self, wanted: LogFilter) -> AsyncIterator[dict[str, Any]]:
        """Every log `wanted` names, newest first, read in batches (an export of any length)."""
        async for log in self._logs.find(wanted.query()).sort("created_at", -1).batch_size(500):
            yield log
