"""CustomPass sync pass-through: `POST /pass/{model}` (channels of kind `custompass_sync`).

The app includes this router after `pass_async`, so `/pass/{model}/submit` and
`/pass/{model}/task/...` keep reaching the async API."""
from __future__ import annotations

from fastapi import APIRouter, Request, Response

from services.gateway.container import Container
from services.gateway.deps import Caller, Deps
from services.gateway.errors import NotFound
from shared.providers.registry import async_kinds, sync_kinds

router = APIRouter(tags=["custompass"])


@router.post("/pass/{model:path}", response_model=None)
async def sync_call(model: str, request: Request, caller: Caller, deps: Deps) -> Response:
    """The upstream's answer with its status code, streamed when the upstream streams it."""
    await _refuse_async_only(deps, model)
    return await deps.sync_pass.call(caller, model, await request.body(), request.url.query)


async def _refuse_async_only(deps: Container, model: str) -> None:
    """A model served only asynchronously names the call that serves it (404 model_is_async),
    before anything is counted against the caller. Both reads go through the configuration cache."""
    if not await deps.channels.serving(model, sync_kinds()) and await deps.channels.serving(model, async_kinds()):
        raise NotFound(f"model {model} is async: submit with POST /pass/{model}/submit, then fetch "
                       f"GET /pass/{model}/task/{{task_id}}/fetch", code="model_is_async")
