"""Console page for the Task API's task types: each a public model and a JSON Schema of its
params; create and edit through the admin API's own route code (same checks, same errors). The
schema is edited as JSON text, so this page parses it and bounds its nesting as the API bounds a
JSON body's (body_limits) before the API's checks see it."""
from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services.gateway.body_limits import json_depth
from services.gateway.console.pages import PAGE_SIZE, PageSession, Posted, PostedForm, page_window, render, saved
from services.gateway.deps import Deps
from services.gateway.errors import InvalidRequest, JsonTooDeep
from services.gateway.paging import Offset
from services.gateway.routes import admin_task_types
from services.gateway.task_api.schemas import TaskTypeCreate, TaskTypeUpdate
from services.gateway.task_api.task_types import TaskTypeRepository

router = APIRouter(prefix="/admin/ui/task-types", include_in_schema=False)
PAGE = "/admin/ui/task-types"


@router.get("", response_class=HTMLResponse)
async def task_type_list(request: Request, session: PageSession, deps: Deps, offset: Offset = 0,
                         notice: str | None = None, error: str | None = None) -> HTMLResponse:
    task_types = await admin_task_types.list_task_types(deps, PAGE_SIZE, offset)
    rows = [(t, json.dumps(t.params_schema, indent=2, ensure_ascii=False) if t.params_schema is not None else "")
            for t in task_types]
    return render(request, "task_types.html", session, rows=rows, notice=notice, error=error,
                  window=page_window(offset, await TaskTypeRepository(deps.db).count()), params={})


@router.post("")
async def create_task_type(form: PostedForm, deps: Deps):
    return await saved(PAGE, form, lambda: admin_task_types.create_task_type(TaskTypeCreate(
        type=str(form.get("type", "")).strip(), model=str(form.get("model", "")).strip(),
        params_schema=_params_schema(form, deps)), deps))


@router.post("/{name}")
async def update_task_type(name: str, form: PostedForm, deps: Deps):
    """Both fields are set: a blank schema accepts any params from then on."""
    return await saved(PAGE, form, lambda: admin_task_types.update_task_type(name, TaskTypeUpdate(
        model=str(form.get("model", "")).strip(), params_schema=_params_schema(form, deps)), deps))


def _params_schema(form: Posted, deps: Deps) -> Any:
    """The form's schema text parsed (blank: None, any params); whether it is an object and a JSON
    Schema is for TaskTypeCreate/Update and the API to check."""
    text = str(form.get("params_schema") or "").strip()
    if not text:
        return None
    limit = deps.settings.json_max_depth
    if json_depth(text.encode()) + 1 > limit:  # + 1: the API's body holds the schema one level down
        raise JsonTooDeep(f"JSON nested deeper than {limit} levels")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidRequest(f"params_schema is not JSON: {exc}") from None
