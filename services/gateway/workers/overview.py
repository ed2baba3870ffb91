"""What the console's dispatch page (and `GET /admin/dispatch`) shows of worker dispatch: each
worker group's workers and queue depth, the workers online (busy or idle), the queue, the tasks
running with their request, and the latest finished tasks with their answer."""
from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.gateway.workers.hub import WorkerHub
from services.gateway.workers.queue import API
from services.gateway.workers.views import epoch_ms, failure_message
from shared.status import TERMINAL, TaskStatus
from shared.task_reads import TaskReads
from shared.task_record import Task

RECENT = 20


async def dispatch_overview(db: AsyncDatabase, hub: WorkerHub) -> dict[str, Any]:
    tasks = TaskReads(db)
    running = await tasks.of_api(API, [TaskStatus.IN_PROGRESS], "started_ms", 500)
    busy = {t.worker_id: t.id for t in running}
    workers = [{"workerId": w["_id"], "group": w["group"], "connectedAt": w["connected_at"],
                "busy": w["_id"] in busy, "taskId": busy.get(w["_id"])} for w in await hub.registry.all_online()]
    queued = await tasks.of_api(API, [TaskStatus.QUEUED], "enqueued_ms", 500)
    finished = await tasks.of_api(API, list(TERMINAL), "finished_at", RECENT, latest_first=True)
    return {
        "groups": _groups(workers, await hub.queue.depth_by_group()),
        "workers": workers,
        "queued": [{**_row(t), "enqueuedAt": t.enqueued_ms} for t in queued],
        "executing": [{**_row(t), "workerId": t.worker_id, "startedAt": t.started_ms} for t in running],
        "recent": [{**_row(t), "status": "completed" if t.status is TaskStatus.SUCCESS else "failed",
                    "result": t.result, "error": failure_message(t) if t.status is TaskStatus.FAILURE else None,
                    "finishedAt": epoch_ms(t.finished_at)} for t in finished],
    }


def _row(task: Task) -> dict[str, Any]:
    return {"taskId": task.id, "group": task.group, "userId": task.user_id, "request": task.payload}


def _groups(workers: list[dict[str, Any]], depths: dict[str, int]) -> list[dict[str, Any]]:
    """Per worker group with a worker online or a task queued: workers online, busy, queue depth."""
    names = sorted({w["group"] for w in workers} | {g for g in depths if isinstance(g, str)})
    return [{"group": name, "online": sum(w["group"] == name for w in workers),
             "busy": sum(w["group"] == name and w["busy"] for w in workers), "queued": depths.get(name, 0)}
            for name in names]
