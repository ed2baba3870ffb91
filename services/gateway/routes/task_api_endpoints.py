"""Task API (seed 001): create a typed task, list one's own, and the internal status update.
`GET /api/task/{taskId}` is `task_lookup`'s, shared with worker dispatch. Answers are
`{"success": true, "data": ...}`; errors `{"success": false, "code", "message"}` (`task_api.errors`)."""
from __future__ import annotations

from fastapi import APIRouter, Header, Query, Response

from services.gateway.deps import Deps
from services.gateway.paging import Offset
from services.gateway.prefer_wait import WaitPreference, waited
from services.gateway.task_api.auth import InternalAuth, TaskApiCaller
from services.gateway.task_api.errors import TaskApiRoute
from services.gateway.task_api.schemas import StatusUpdate, TaskApiStatus, TaskCreate
from services.gateway.task_api.status_updates import update_status
from shared.status import TASK_API_WORDS, to_task_api_status
from shared.task_reads import TaskFilter, TaskReads
from shared.task_views import task_api_view
from shared.typed_tasks import API

router = APIRouter(tags=["task"], route_class=TaskApiRoute)


@router.post("/api/task/create")
async def create(request: TaskCreate, response: Response, caller: TaskApiCaller, deps: Deps,
                 wait: WaitPreference, idempotency_key: str | None = Header(None, max_length=200)) -> dict:
    """`{"success": true, "data": {taskId, type, status: "pending", createdAt}}`. With `Prefer: wait[=N]`
    (`prefer_wait`), once the task is terminal or after N seconds, `data` also has the task's
    `progress`, `resultUrls`, `errorMessage` and `completedAt`. The same `Idempotency-Key` (with
    the same type, image and params) answers the first request's task."""
    created = await deps.typed_task_creation.create(caller, request, idempotency_key)
    view = task_api_view(await waited(deps.watch, created, wait, response))
    data = {"taskId": view["id"], "type": view["type"], "status": view["status"], "createdAt": view["createdAt"]}
    if wait is not None:
        data.update({field: view[field] for field in ("progress", "resultUrls", "errorMessage", "completedAt")})
    return {"success": True, "data": data}


@router.get("/api/task/list")
async def list_tasks(caller: TaskApiCaller, deps: Deps, limit: int = Query(10, ge=1, le=100), offset: Offset = 0,
                     status: TaskApiStatus | None = None, type: str | None = Query(None, max_length=64)) -> dict:
    """The caller's typed tasks, newest first; `status` and `type` filter (empty: all)."""
    wanted = TaskFilter(user_id=caller.user_id, api=API, statuses=TASK_API_WORDS[status] if status else (),
                        task_type=type)
    rows, total = await TaskReads(deps.db).page(wanted, limit, offset)
    return {"success": True, "data": {"tasks": [task_api_view(task) for task in rows], "total": total,
                                      "limit": limit, "offset": offset}}


@router.put("/api/task/{task_id}/status", dependencies=[InternalAuth])
async def put_status(task_id: str, change: StatusUpdate, deps: Deps) -> dict:
    """Internal (admin token or TASK_API_SERVICE_TOKEN): pending -> processing -> success | failed."""
    task = await update_status(deps.tasks, deps.publisher, task_id, change)
    return {"success": True, "message": f"task is {to_task_api_status(task.status.value)}", "data": task_api_view(task)}
