"""A caller's own tasks and consumption logs."""
from __future__ import annotations

from fastapi import APIRouter, Query

from services.gateway.deps import Caller, Deps
from services.gateway.errors import InvalidRequest
from services.gateway.paging import Offset
from shared.consumption import ConsumptionLogs, LogFilter
from shared.status import PASS_WORDS, TaskStatus
from shared.task_reads import TaskFilter, TaskReads
from shared.task_views import listed_view

router = APIRouter(tags=["client"])


def statuses_named(status: str | None) -> tuple[str, ...]:
    """Accepts the CustomPass words (completed, failed, processing, pendding) or internal names."""
    if not status:
        return ()
    if status in PASS_WORDS:
        return PASS_WORDS[status]
    if status.upper() in TaskStatus.__members__:
        return (status.upper(),)
    raise InvalidRequest(f"unknown status {status!r}", code="invalid_status")


@router.get("/api/tasks")
async def my_tasks(caller: Caller, deps: Deps, status: str | None = None, model: str | None = None,
                   limit: int = Query(20, ge=1, le=100), offset: Offset = 0) -> dict:
    wanted = TaskFilter(user_id=caller.user_id, statuses=statuses_named(status), model=model)
    rows, total = await TaskReads(deps.db).page(wanted, limit, offset)
    return {"data": [listed_view(task) for task in rows], "total": total, "limit": limit, "offset": offset}


@router.get("/api/logs")
async def my_logs(caller: Caller, deps: Deps, limit: int = Query(20, ge=1, le=100),
                  offset: Offset = 0) -> dict:
    rows, total = await ConsumptionLogs(deps.db).page(LogFilter(user_id=caller.user_id), limit, offset)
    return {"data": [r.view() for r in rows], "total": total, "limit": limit, "offset": offset}
