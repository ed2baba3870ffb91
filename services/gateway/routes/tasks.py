"""A caller's own tasks and consumption logs."""
from __future__ import annotations

from fastapi import APIRouter, Query

from services.gateway.deps import Caller, Deps
from services.gateway.errors import InvalidRequest
from services.gateway.paging import Offset
from shared.task_views import listed_view
from shared.consumption import log_view
from shared.status import TaskStatus

router = APIRouter(tags=["client"])

PASS_WORDS = {"completed": ["SUCCESS"], "failed": ["FAILURE"], "pendding": ["NOT_START"],
              "processing": ["SUBMITTED", "QUEUED", "IN_PROGRESS"], "unknown": ["UNKNOWN"]}


def status_filter(status: str | None) -> dict:
    """Accepts the CustomPass words (completed, failed, processing, pendding) or internal names."""
    if not status:
        return {}
    if status in PASS_WORDS:
        return {"status": {"$in": PASS_WORDS[status]}}
    if status.upper() in TaskStatus.__members__:
        return {"status": status.upper()}
    raise InvalidRequest(f"unknown status {status!r}", code="invalid_status")


@router.get("/api/tasks")
async def my_tasks(caller: Caller, deps: Deps, status: str | None = None, model: str | None = None,
                   limit: int = Query(20, ge=1, le=100), offset: Offset = 0) -> dict:
    query = {"user_id": caller.user_id, **status_filter(status), **({"model": model} if model else {})}
    total = await deps.tasks.tasks.count_documents(query)
    rows = await deps.tasks.tasks.find(query).sort("created_at", -1).skip(offset).limit(limit).to_list(limit)
    return {"data": [listed_view(t) for t in rows], "total": total, "limit": limit, "offset": offset}


@router.get("/api/logs")
async def my_logs(caller: Caller, deps: Deps, limit: int = Query(20, ge=1, le=100),
                  offset: Offset = 0) -> dict:
    query = {"user_id": caller.user_id}
    logs = deps.db["consumption_logs"]
    total = await logs.count_documents(query)
    rows = await logs.find(query).sort("created_at", -1).skip(offset).limit(limit).to_list(limit)
    return {"data": [log_view(r) for r in rows], "total": total, "limit": limit, "offset": offset}
