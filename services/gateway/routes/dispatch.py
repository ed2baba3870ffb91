"""Worker dispatch API (seed 003): `POST /api/openai`, sync or `"async": true`."""
from __future__ import annotations

from fastapi import APIRouter, Header, Response

from services.gateway.deps import Caller, Deps
from services.gateway.prefer_wait import WaitPreference, waited
from services.gateway.schemas import DispatchRequest
from services.gateway.workers.views import dispatch_view

router = APIRouter(tags=["dispatch"])


@router.post("/api/openai")
async def dispatch(request: DispatchRequest, response: Response, caller: Caller, deps: Deps,
                   wait: WaitPreference, idempotency_key: str | None = Header(None, max_length=200)) -> dict:
    """Sync: `{"taskId","status":"completed","result"}` once a worker answers (500 `Task timeout`,
    500 `Worker disconnected`, 502 the worker's error). Async: `{"taskId","status":"queued"|"executing"}`.
    503 `No worker available` / `Queue is full`, 404 `Unknown group`; every failure is refunded.
    Async with `Prefer: wait[=N]` (`prefer_wait`): once the task is terminal or after N seconds, the
    task as `GET /api/task/{taskId}` shows it (`result` or `error` once it ended). Async, the same
    `Idempotency-Key` (and request) answers the first request's task; a sync call ignores it."""
    answer = await deps.submission.submit(caller, request, idempotency_key)
    if not request.run_async or wait is None:
        return answer
    task = await deps.tasks.record(answer["taskId"])
    if task is None:
        return answer
    return await dispatch_view(await waited(deps.watch, task, wait, response), deps.workers.queue)
