"""How a worker task looks on `GET /api/task/{taskId}` and in `POST /api/openai` answers: the
seed's shapes, with its times in epoch milliseconds."""
from __future__ import annotations

from typing import Any

from services.gateway.workers.queue import WorkQueue
from shared.clock import parse
from shared.status import to_dispatch_status
from shared.task_record import Task

# The seed's words for the failures the gateway itself decides.
FAILURE_MESSAGES = {"timeout": "Task timeout", "worker_disconnected": "Worker disconnected"}


def failure_message(task: Task) -> str:
    return FAILURE_MESSAGES.get(task.fail_reason or "") or task.error or "Task failed"


def epoch_ms(stored: str) -> int:
    return int(parse(stored).timestamp() * 1000)


def expired(task: Task, ttl_ms: int, now_ms: int) -> bool:
    return bool(task.finished_at) and now_ms - epoch_ms(task.finished_at) > ttl_ms


async def dispatch_view(task: Task, queue: WorkQueue) -> dict[str, Any]:
    status = to_dispatch_status(task.status.value)
    view: dict[str, Any] = {"taskId": task.id, "status": status}
    if status == "queued":
        # Still placing its hold: everything queued so far is ahead of it.
        ahead = await queue.ahead_of(task) if task.enqueued_ms else await queue.depth(task.group)
        view.update(enqueuedAt=task.enqueued_ms or epoch_ms(task.created_at), position=ahead)
    elif status == "executing":
        view.update(workerId=task.worker_id, startedAt=task.started_ms)
    elif status == "completed":
        view.update(result=task.result, completedAt=epoch_ms(task.finished_at))
    else:
        view.update(error=failure_message(task), failedAt=epoch_ms(task.finished_at))
    return view
