"""`GET /api/task/{taskId}`: a task answers in the dialect of the API that created it (its
`api` field); an API family adds its view to `VIEWS`. Only the owner sees a task: another
user's typed task is 403 (seed 001's 4003), anything else unknown, foreign or expired is 404.
Errors come in the Task API's envelope, with the dispatch seed's `error` field besides."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Header
from fastapi.responses import StreamingResponse

from services.gateway.container import Container
from services.gateway.deps import Deps
from services.gateway.errors import ApiError, Forbidden
from services.gateway.receipt_answers import signed_receipt
from services.gateway.task_api.auth import TaskApiCaller
from services.gateway.task_api.errors import TaskApiRoute
from services.gateway.workers.queue import API as DISPATCH_API, now_ms
from services.gateway.dispatch_submit import dispatch_error
from services.gateway.workers.views import dispatch_view, expired
from shared.task_record import Task
from shared.task_views import listed_view, task_api_view
from shared.typed_tasks import API as TASK_API
from shared.webhook_deliveries import WebhookDeliveries, public_view

router = APIRouter(tags=["dispatch", "task"], route_class=TaskApiRoute)

View = Callable[[Task, Container], Awaitable[dict[str, Any]]]


async def _dispatch(task: Task, deps: Container) -> dict[str, Any] | None:
    if expired(task, deps.settings.task_result_ttl_ms, now_ms()):
        return None
    return await dispatch_view(task, deps.workers.queue)


async def _typed(task: Task, _: Container) -> dict[str, Any]:
    return {"success": True, "data": task_api_view(task)}


async def _pass(task: Task, _: Container) -> dict[str, Any]:
    # The row `GET /api/tasks` lists: the fetch route's answer plus the model, the mode (async or
    # sync) and the times, so `/task/{id}` can show a `/pass` task without knowing its model.
    return listed_view(task)


PASS_API = "pass"  # the `api` field services/gateway/task_opening.py stores on `/pass` tasks
VIEWS: dict[str, View] = {DISPATCH_API: _dispatch, TASK_API: _typed, PASS_API: _pass}


async def visible_task(task_id: str, caller, deps: Container) -> tuple[Task, View, dict[str, Any]]:
    """The caller's task, how its API shows it, and that view now; 404 (403) as the fetch answers."""
    task = await deps.tasks.record(task_id)
    if task is not None and task.user_id != caller.user_id:
        if task.api == TASK_API:
            raise Forbidden(f"task {task_id} belongs to another user")
        task = None
    view = VIEWS.get(task.api or "") if task else None
    answer = await view(task, deps) if view else None
    if task is None or view is None or answer is None:  # missing, another user's, another API's, or expired
        raise _not_found()
    return task, view, answer


def _not_found() -> ApiError:
    return dispatch_error("Task not found or expired", "task_not_found", 404)


@router.get("/api/task/{task_id}")
async def get_task(task_id: str, caller: TaskApiCaller, deps: Deps) -> dict:
    return (await visible_task(task_id, caller, deps))[2]


@router.get("/api/task/{task_id}/events", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}}})
async def task_events(task_id: str, caller: TaskApiCaller, deps: Deps,
                      last_event_id: str | None = Header(None, max_length=40)) -> StreamingResponse:
    """The task's changes as Server-Sent Events, each carrying the task as `GET /api/task/{taskId}`
    answers it (`event_streams`)."""
    task, view, _ = await visible_task(task_id, caller, deps)
    return deps.task_event_streams.open(caller, task, lambda changed: view(changed, deps), last_event_id)


@router.get("/api/task/{task_id}/receipt")
async def task_receipt(task_id: str, caller: TaskApiCaller, deps: Deps) -> dict:
    """The settled task's signed receipt (`shared.task_receipts`), whichever API created it; another
    user's task answers 404 like a missing one (a typed task too), and a worker task's receipt
    outlives its readable result. 409 receipt_not_ready before it is settled."""
    return await signed_receipt(deps.ledger, deps.settings.receipt_signer, await _owned(task_id, caller, deps))


@router.get("/api/task/{task_id}/webhooks")
async def task_webhooks(task_id: str, caller: TaskApiCaller, deps: Deps) -> dict:
    """The task's webhook deliveries, oldest first (event, state, every attempt), whichever API
    created it; another user's task answers 404 like a missing one."""
    await _owned(task_id, caller, deps)
    return {"data": [public_view(d) for d in await WebhookDeliveries(deps.db).for_task(task_id)]}


async def _owned(task_id: str, caller, deps: Container) -> Task:
    task = await deps.tasks.get_owned(task_id, caller.user_id)
    if task is None or (task.api or "") not in VIEWS:
        raise _not_found()
    return task
