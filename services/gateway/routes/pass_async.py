"""CustomPass async API: submit, fetch one task, query many (seed 000)."""
from __future__ import annotations

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from services.gateway.deps import Caller, CallerIdentity, Deps
from services.gateway.errors import InvalidRequest, NotFound
from services.gateway.prefer_wait import WaitPreference, waited
from services.gateway.receipt_answers import signed_receipt
from shared.channels import model_spellings
from shared.task_reads import TaskReads
from shared.task_record import Task
from shared.task_views import pass_view
from shared.webhook_deliveries import WebhookDeliveries, public_view

router = APIRouter(tags=["custompass"])

MAX_QUERY_IDS = 100


class TaskQuery(BaseModel):
    task_ids: list[str] = Field(description=f"At most {MAX_QUERY_IDS} ids; unknown ids are skipped.")


@router.post("/pass/{model:path}/submit")
async def submit(model: str, request: Request, response: Response, caller: Caller, deps: Deps, wait: WaitPreference,
                 idempotency_key: str | None = Header(None, max_length=200)) -> dict:
    """`Prefer: wait[=N]` answers once the task is terminal or after N seconds (`prefer_wait`)."""
    body = await request.body()
    task = await deps.async_submission.submit(caller, model, body, request.url.query, idempotency_key)
    return pass_view(await waited(deps.watch, task, wait, response))


async def own_task_of_model(deps: Deps, caller: CallerIdentity, model: str, task_id: str) -> Task:
    """Another user's task, or one of another model (either spelling matches: `x`, `x/submit`),
    answers exactly like a missing one."""
    task = await deps.tasks.get_owned(task_id, caller.user_id)
    if task is None or task.model not in model_spellings(model):
        raise NotFound(f"task {task_id} not found", code="task_not_found")
    return task


@router.get("/pass/{model:path}/task/{task_id}/fetch")
async def fetch(model: str, task_id: str, caller: Caller, deps: Deps) -> dict:
    return pass_view(await own_task_of_model(deps, caller, model, task_id))


async def _pass_view(task: Task) -> dict:
    return pass_view(task)


@router.get("/pass/{model:path}/task/{task_id}/events", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}}})
async def events(model: str, task_id: str, caller: Caller, deps: Deps,
                 last_event_id: str | None = Header(None, max_length=40)) -> StreamingResponse:
    """The task's changes as Server-Sent Events, each carrying the task as fetch answers it (`event_streams`)."""
    task = await own_task_of_model(deps, caller, model, task_id)
    return deps.task_event_streams.open(caller, task, _pass_view, last_event_id)


@router.get("/pass/{model:path}/task/{task_id}/webhooks")
async def webhooks(model: str, task_id: str, caller: Caller, deps: Deps) -> dict:
    """The task's webhook deliveries, oldest first: event, state, every attempt (`shared.webhook_deliveries`)."""
    await own_task_of_model(deps, caller, model, task_id)
    return {"data": [public_view(d) for d in await WebhookDeliveries(deps.db).for_task(task_id)]}


@router.get("/pass/{model:path}/task/{task_id}/receipt")
async def receipt(model: str, task_id: str, caller: Caller, deps: Deps) -> dict:
    """The settled task's signed receipt (`shared.task_receipts`): pricing terms, usage, hold, charged,
    refunded, shortfall, debt, ledger entry ids, times; 409 receipt_not_ready before it is settled."""
    task = await own_task_of_model(deps, caller, model, task_id)
    return await signed_receipt(deps.ledger, deps.settings.receipt_signer, task)


@router.post("/pass/{model:path}/task/{task_id}/cancel")
async def cancel(model: str, task_id: str, caller: Caller, deps: Deps) -> dict:
    """Only the task's owner; upstreams without a cancel (CustomPass) answer 409 cancel_not_supported."""
    await own_task_of_model(deps, caller, model, task_id)
    return pass_view(await deps.cancellation.cancel(caller, task_id))


@router.post("/pass/{model:path}/task/list-by-condition")
async def list_by_condition(model: str, query: TaskQuery, caller: Caller, deps: Deps) -> dict:
    if len(query.task_ids) > MAX_QUERY_IDS:
        raise InvalidRequest(f"at most {MAX_QUERY_IDS} task_ids per query", code="too_many_task_ids")
    found = await TaskReads(deps.db).owned(list(dict.fromkeys(query.task_ids)), caller.user_id)
    by_id = {task.id: task for task in found}
    return {"code": 0, "msg": "success",
            "data": [pass_view(by_id[i]) for i in dict.fromkeys(query.task_ids) if i in by_id]}
