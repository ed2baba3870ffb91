"""CustomPass sync pass-through: `POST /pass/{model}` (channels of kind `custompass_sync`).

The app includes this router after `pass_async`, so `/pass/{model}/submit` and
`/pass/{model}/task/...` keep reaching the async API."""
from __future__ import annotations

from fastapi import APIRouter, Request, Response

from services.gateway.deps import Caller, Deps
from services.gateway.sync_pass import SyncPass

router = APIRouter(tags=["custompass"])


@router.post("/pass/{model:path}", response_model=None)
async def sync_call(model: str, request: Request, caller: Caller, deps: Deps) -> Response:
    """The upstream's answer with its status code, streamed when the upstream streams it."""
    return await SyncPass(deps).call(caller, model, await request.body(), request.url.query)
