"""Consumption logs: exactly one per settled task, keyed by the task id."""
from __future__ import annotations

from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from shared.ledger import SettleOutcome
from shared.clock import parse, stamp


async def write_logs(db: AsyncDatabase, settled: list[tuple[dict[str, Any], SettleOutcome]]) -> None:
    """One log per settled task, upserted by task id in one bulk write, so settling the same task
    again never writes a second log."""
    await db["consumption_logs"].bulk_write([
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
