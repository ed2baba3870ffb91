"""Admin API for the Task API's task types (`task_api.task_types`)."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, status

from services.gateway.deps import AdminAuth, Deps
from services.gateway.errors import Conflict, NotFound
from services.gateway.paging import Offset
from services.gateway.task_api.schemas import TaskTypeCreate, TaskTypePublic, TaskTypeUpdate
from services.gateway.task_api.task_types import TaskTypeExists, TaskTypeRepository, params_schema

router = APIRouter(prefix="/admin/task-types", tags=["admin"], dependencies=[AdminAuth])


def _public(task_type: dict[str, Any]) -> TaskTypePublic:
    return TaskTypePublic(type=task_type["_id"], model=task_type["model"], params_schema=params_schema(task_type))


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TaskTypePublic)
async def create_task_type(body: TaskTypeCreate, deps: Deps) -> TaskTypePublic:
    try:
        return _public(await TaskTypeRepository(deps.db).create(body.type, body.model, body.params_schema))
    except TaskTypeExists:
        raise Conflict(f"task type {body.type} exists already", code="task_type_exists") from None


@router.get("", response_model=list[TaskTypePublic])
async def list_task_types(deps: Deps, limit: int = Query(100, ge=1, le=500),
                          offset: Offset = 0) -> list[TaskTypePublic]:
    return [_public(t) for t in await TaskTypeRepository(deps.db).list(limit, offset)]


@router.get("/{name}", response_model=TaskTypePublic)
async def get_task_type(name: str, deps: Deps) -> TaskTypePublic:
    found = await TaskTypeRepository(deps.db).get(name)
    if found is None:
        raise NotFound(f"task type {name} not found")
    return _public(found)


@router.put("/{name}", response_model=TaskTypePublic)
async def update_task_type(name: str, body: TaskTypeUpdate, deps: Deps) -> TaskTypePublic:
    """Omitted fields are kept; `"params_schema": null` accepts any params from then on."""
    types = TaskTypeRepository(deps.db)
    changes = body.model_dump(exclude_unset=True)
    if changes.get("model", "") is None:
        changes.pop("model")
    found = await types.update(name, changes) if changes else await types.get(name)
    if found is None:
        raise NotFound(f"task type {name} not found")
    return _public(found)
