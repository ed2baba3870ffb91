"""Worker dispatch API (seed 003): `POST /api/openai`, sync or `"async": true`."""
from __future__ import annotations

from fastapi import APIRouter

from services.gateway.deps import Caller, Deps
from services.gateway.schemas import DispatchRequest
from services.gateway.workers.submission import Submission

router = APIRouter(tags=["dispatch"])


@router.post("/api/openai")
async def dispatch(request: DispatchRequest, caller: Caller, deps: Deps) -> dict:
    """Sync: `{"taskId","status":"completed","result"}` once a worker answers (500 `Task timeout`,
    500 `Worker disconnected`, 502 the worker's error). Async: `{"taskId","status":"queued"|"executing"}`.
    503 `No worker available` / `Queue is full`, 404 `Unknown group`; every failure is refunded."""
    return await Submission(deps).submit(caller, request)
