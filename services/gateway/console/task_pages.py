"""Console pages for tasks: a filtered list with the CustomPass status beside the internal one,
and a task's whole story (request, upstream, hold and settlement, consumption log)."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services.gateway.console.pages import PAGE_SIZE, PageSession, moment, page_window, render
from services.gateway.deps import Deps
from services.gateway.errors import NotFound
from services.gateway.paging import Offset
from services.gateway.receipt_answers import signed_receipt
from shared.clock import stamp
from shared.status import TaskStatus, to_pass_status

router = APIRouter(prefix="/admin/ui/tasks", include_in_schema=False)
KINDS = ("custompass_async", "custompass_sync", "replicate", "runninghub", "worker")


def period(since: str, until: str) -> dict:
    start, end = moment(since), moment(until)
    return {**({"$gte": stamp(start)} if start else {}), **({"$lt": stamp(end)} if end else {})}


@router.get("", response_class=HTMLResponse)
async def task_list(request: Request, session: PageSession, deps: Deps, kind: str = "", model: str = "",
                    status: str = "", user_id: str = "", since: str = "", until: str = "",
                    offset: Offset = 0) -> HTMLResponse:
    query: dict = {k: v for k, v in {"channel_kind": kind, "model": model, "status": status,
                                     "user_id": user_id}.items() if v}
    if (window := period(since, until)):
        query["created_at"] = window
    tasks = deps.db["tasks"]
    total = await tasks.count_documents(query)
    rows = await tasks.find(query).sort("created_at", -1).skip(offset).limit(PAGE_SIZE).to_list(PAGE_SIZE)
    params = {"kind": kind, "model": model, "status": status, "user_id": user_id,
              "since": since, "until": until}
    return render(request, "tasks.html", session, tasks=rows, params=params, kinds=KINDS,
                  statuses=[s.value for s in TaskStatus], pass_status=to_pass_status,
                  window=page_window(offset, total))


@router.get("/{task_id}", response_class=HTMLResponse)
async def task_page(request: Request, task_id: str, session: PageSession, deps: Deps) -> HTMLResponse:
    task = await deps.tasks.get(task_id)
    if task is None:
        raise NotFound(f"task {task_id} not found", code="task_not_found")
    log = await deps.db["consumption_logs"].find_one({"_id": task_id})
    history = sorted((task.get(field), label) for label, field in (
        ("created", "created_at"), ("submitted upstream", "submitted_at"), ("last change", "updated_at"),
        ("finished", "finished_at")) if task.get(field))
    upstream = {"result": task.get("result"), "usage": task.get("usage"), "error": task.get("error"),
                **({"late_result": task["late_result"]} if task.get("late_result") else {})}
    return render(request, "task.html", session, task=task, log=log, history=history, upstream=upstream,
                  pass_status=to_pass_status(task["status"]))


@router.get("/{task_id}/receipt")
async def task_receipt(task_id: str, _: PageSession, deps: Deps) -> dict:
    """The task's signed receipt as its owner reads it (`receipt_answers`), for the operator."""
    task = await deps.tasks.get(task_id)
    if task is None:
        raise NotFound(f"task {task_id} not found", code="task_not_found")
    return await signed_receipt(deps, task)
