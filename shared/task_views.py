"""How a task looks to a client of each API family."""
from __future__ import annotations

import json
from typing import Any

from shared.late_results import delivered, pass_late_view, task_api_late_view
from shared.status import TaskStatus, to_pass_status, to_task_api_status
from shared.task_record import Task
from shared.typed_tasks import result_urls


def pass_view(task: Task) -> dict[str, Any]:
    """The CustomPass shape (seed 000): task_id, status, progress, result when present."""
    view: dict[str, Any] = {"task_id": task.id, "status": to_pass_status(task.status.value),
                            "progress": task.progress or "0%"}
    if task.result is not None:
        view["result"] = task.result
    if task.status is TaskStatus.FAILURE:
        view["error"] = task.error or task.fail_reason
    late = delivered(task.late_result)
    if late is not None:  # the task stays failed and refunded: the upstream finished it after our timeout
        view["late_result"] = pass_late_view(late)
    return view


def listed_view(task: Task) -> dict[str, Any]:
    """A row of `GET /api/tasks`: the pass view plus what a list needs to be useful."""
    return {**pass_view(task), "model": task.model, "mode": task.mode, "created_at": task.created_at,
            "updated_at": task.updated_at, "finished_at": task.finished_at}


def task_api_view(task: Task) -> dict[str, Any]:
    """The Task API shape (seed 001), camelCase as the seed publishes it."""
    late = delivered(task.late_result)
    return {"id": task.id, "type": task.task_type, "status": to_task_api_status(task.status.value),
            "progress": task.progress or "0%", "inputImageUrl": task.input_image_url,
            "params": json.loads(task.params or "{}"), "resultUrls": result_urls(task.result),
            "errorMessage": task.error if task.status is TaskStatus.FAILURE else None,
            "createdAt": task.created_at, "updatedAt": task.updated_at or task.created_at,
            "completedAt": task.finished_at,
            **({"lateResult": task_api_late_view(late)} if late is not None else {})}
