"""`GET /api/task/{taskId}`: a task answers in the dialect of the API that created it (its
`api` field); an API family adds its view to `VIEWS`. Only the owner sees a task."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter

from services.gateway.container import Container
from services.gateway.deps import Caller, Deps
from services.gateway.workers.queue import API as DISPATCH_API, now_ms
from services.gateway.workers.submission import dispatch_error
from services.gateway.workers.views import dispatch_view, expired

router = APIRouter(tags=["dispatch"])

View = Callable[[dict[str, Any], Container], Awaitable[dict[str, Any]]]


async def _dispatch(task: dict[str, Any], deps: Container) -> dict[str, Any] | None:
    if expired(task, deps.settings.task_result_ttl_ms, now_ms()):
        return None
    return await dispatch_view(task, deps.workers.queue)


VIEWS: dict[str, View] = {DISPATCH_API: _dispatch}


@router.get("/api/task/{task_id}")
async def get_task(task_id: str, caller: Caller, deps: Deps) -> dict:
    task = await deps.tasks.get_owned(task_id, caller.user_id)
    view = VIEWS.get(task.get("api", "")) if task else None
    answer = await view(task, deps) if view else None
    if answer is None:  # missing, another user's, another API's, or past TASK_RESULT_TTL_MS
        raise dispatch_error("Task not found or expired", "task_not_found", 404)
    return answer
