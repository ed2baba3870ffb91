"""Console pages for tasks: a filtered list with the CustomPass status beside the internal one,
and a task's whole story (request, upstream, hold and settlement, consumption log)."""
from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services.gateway.console.i18n import BILLING_MODES, translate
from services.gateway.console.names import names_in
from services.gateway.console.pages import PAGE_SIZE, PageSession, lang_of, moment, page_window, render
from services.gateway.deps import Deps
from services.gateway.errors import NotFound
from services.gateway.paging import Offset
from services.gateway.receipt_answers import signed_receipt
from shared.consumption import ConsumptionLogs
from shared.status import TaskStatus, to_pass_status
from shared.task_reads import TaskFilter, TaskReads
from shared.task_record import Task

router = APIRouter(prefix="/admin/ui/tasks", include_in_schema=False)
KINDS = ("custompass_async", "custompass_sync", "replicate", "runninghub", "worker")
HISTORY = (("created", "created_at"), ("submitted upstream", "submitted_at"), ("last change", "updated_at"),
           ("finished", "finished_at"))


@router.get("", response_class=HTMLResponse)
async def task_list(request: Request, session: PageSession, deps: Deps, kind: str = "", model: str = "",
                    status: str = "", user_id: str = "", since: str = "", until: str = "",
                    offset: Offset = 0) -> HTMLResponse:
    wanted = TaskFilter(channel_kind=kind, model=model, statuses=(status,) if status else (), user_id=user_id,
                        since=moment(since), until=moment(until))
    rows, total = await TaskReads(deps.db).page(wanted, PAGE_SIZE, offset)
    params = {"kind": kind, "model": model, "status": status, "user_id": user_id,
              "since": since, "until": until}
    return render(request, "tasks.html", session, tasks=rows, names=await names_in(deps.users, deps.channels, rows), params=params, kinds=KINDS,
                  statuses=[s.value for s in TaskStatus], pass_status=to_pass_status,
                  window=page_window(offset, total))


@router.get("/{task_id}", response_class=HTMLResponse)
async def task_page(request: Request, task_id: str, session: PageSession, deps: Deps) -> HTMLResponse:
    task = await deps.tasks.record(task_id)
    if task is None:
        raise NotFound(f"task {task_id} not found", code="task_not_found")
    log = await ConsumptionLogs(deps.db).of_task(task_id)
    history = sorted((getattr(task, field), label) for label, field in HISTORY if getattr(task, field))
    upstream = {"result": task.result, "usage": task.usage, "error": task.error,
                **({"late_result": task.late_result} if task.late_result else {})}
    return render(request, "task.html", session, task=task, log=log, history=history, upstream=upstream,
                  names=await names_in(deps.users, deps.channels, [task]),
                  pass_status=to_pass_status(task.status.value), billing=billing_terms(task, lang_of(request)))


def billing_terms(task: Task, lang: str) -> list[tuple[str, Any]]:
    """The task's billing terms (copied from its channel when it opened) as labelled rows in the
    page's language: mode, price and its unit, usage field, precharge, the user's group's price ratio,
    the hold placed. Terms this page does not know yet still show, by their stored name."""
    def tr(text: str) -> str:
        return translate(lang, text)
    terms = dict(task.billing or {"mode": "free"})
    mode = terms.pop("mode", "free")
    rows: list[tuple[str, Any]] = [("Billing mode", tr(BILLING_MODES.get(mode, str(mode))))]
    price, field = terms.pop("price", 0), terms.pop("usage_field", None)
    if mode == "per_call":
        rows.append(("Price", f"{price} {tr('quota per call')}"))
    elif mode == "per_usage":
        rows.append(("Price", f"{price} {tr('quota per 1,000 usage units')}"))
        rows.append(("Usage field", field or tr("tokens (default)")))
    if mode != "free":
        precharge = terms.pop("precharge", None)
        rows.append(("Precharge", precharge if precharge is not None else tr("default: the price (per call) or 0")))
    terms.pop("precharge", None)
    rows.append(("Price ratio", f"× {terms.pop('price_ratio', '1')}"))  # absent: the group's ratio is 1
    rows.append(("Hold", task.hold_amount))
    rows += [(name, json.dumps(value) if isinstance(value, (dict, list)) else value)
             for name, value in sorted(terms.items())]
    return rows


@router.get("/{task_id}/receipt")
async def task_receipt(task_id: str, _: PageSession, deps: Deps) -> dict:
    """The task's signed receipt as its owner reads it (`receipt_answers`), for the operator."""
    task = await deps.tasks.record(task_id)
    if task is None:
        raise NotFound(f"task {task_id} not found", code="task_not_found")
    return await signed_receipt(deps.ledger, deps.settings.receipt_signer, task)
