"""Waiting for a task to be settled, and checking it left exactly one consumption log."""
from __future__ import annotations

from tests.harness.api import eventually


async def settled_task(mongo_db, task_id: str) -> dict:
    async def done():
        task = await mongo_db.tasks.find_one({"_id": task_id})
        return task if task is not None and task.get("settled") else None
    return await eventually(done, timeout=30)


async def assert_one_log(mongo_db, task_id: str, status: str, quota: int) -> None:
    logs = await mongo_db.consumption_logs.find({"task_id": task_id}).to_list(None)
    assert len(logs) == 1 and logs[0]["status"] == status and logs[0]["quota"] == quota, logs
