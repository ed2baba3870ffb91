"""Consumption logs: exactly one per settled task, keyed by the task id."""
from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from shared.ledger import SettleOutcome
from shared.clock import parse, stamp


async def write_log(db: AsyncDatabase, task: dict[str, Any], settled: SettleOutcome) -> dict[str, Any]:
    """Upserted by task id, so settling the same task again never writes a second log."""
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
    if settled.debt:
        log["note"] = f"shortfall of {settled.debt} could not be covered by the wallet and is recorded as debt"
    await db["consumption_logs"].update_one({"_id": task["_id"]}, {"$setOnInsert": log}, upsert=True)
    return {"_id": task["_id"], **log}


def log_view(log: dict[str, Any]) -> dict[str, Any]:
    return {"id": log["_id"], **{k: v for k, v in log.items() if k != "_id"}}
