"""What the console's dispatch page (and `GET /admin/dispatch`) shows of worker dispatch: each
worker group's workers and queue depth, the workers online (busy or idle), the queue, the tasks
running with their request, and the latest finished tasks with their answer."""
from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.gateway.workers.hub import WorkerHub
from services.gateway.workers.queue import API, CLAIMED, QUEUED
from services.gateway.workers.views import epoch_ms, failure_message
from shared.status import TERMINAL
from shared.task_record import Task

RECENT = 20


async def dispatch_overview(db: AsyncDatabase, hub: WorkerHub) -> dict[str, Any]:
    tasks = db["tasks"]
    running = await tasks.find({"api": API, "status": CLAIMED}).sort("started_ms", 1).to_list(500)
    busy = {t.get("worker_id"): t["_id"] for t in running}
    workers = [{"workerId": w["_id"], "group": w["group"], "connectedAt": w["connected_at"],
                "busy": w["_id"] in busy, "taskId": busy.get(w["_id"])} for w in await hub.registry.all_online()]
    queued = await tasks.find({"api": API, "status": QUEUED}).sort("enqueued_ms", 1).to_list(500)
    finished = await tasks.find({"api": API, "status": {"$in": [s.value for s in TERMINAL]}}).sort(
        "finished_at", -1).to_list(RECENT)
    return {
        "groups": _groups(workers, await hub.queue.depth_by_group()),
        "workers": workers,
        "queued": [{**_row(t), "enqueuedAt": t.get("enqueued_ms")} for t in queued],
        "executing": [{**_row(t), "workerId": t.get("worker_id"), "startedAt": t.get("started_ms")} for t in running],
        "recent": [{**_row(t), "status": "completed" if t["status"] == "SUCCESS" else "failed", "result": t.get("result"),
                    "error": failure_message(Task.from_document(t)) if t["status"] == "FAILURE" else None,
                    "finishedAt": epoch_ms(t["finished_at"])} for t in finished],
    }


def _row(task: dict[str, Any]) -> dict[str, Any]:
    return {"taskId": task["_id"], "group": task.get("group"), "userId": task["user_id"],
            "request": task.get("payload")}


def _groups(workers: list[dict[str, Any]], depths: dict[str, int]) -> list[dict[str, Any]]:
    """Per worker group with a worker online or a task queued: workers online, busy, queue depth."""
    names = sorted({w["group"] for w in workers} | {g for g in depths if isinstance(g, str)})
    return [{"group": name, "online": sum(w["group"] == name for w in workers),
             "busy": sum(w["group"] == name and w["busy"] for w in workers), "queued": depths.get(name, 0)}
            for name in names]
