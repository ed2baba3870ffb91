"""Console page for worker tokens: list, issue (the secret shown once) and revoke, through the
admin API's own route code."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from services.gateway.console.pages import (PAGE_SIZE, PageSession, PostedForm, back_to, back_with_error,
                                            page_window, render)
from services.gateway.deps import Deps
from services.gateway.errors import ApiError
from services.gateway.paging import Offset
from services.gateway.routes import admin_worker_tokens
from services.gateway.schemas import WorkerTokenCreate, WorkerTokenUpdate

router = APIRouter(prefix="/admin/ui/worker-tokens", include_in_schema=False)


@router.get("", response_class=HTMLResponse)
async def token_list(request: Request, session: PageSession, deps: Deps, offset: Offset = 0,
                     notice: str | None = None, error: str | None = None) -> HTMLResponse:
    tokens = await admin_worker_tokens.list_worker_tokens(deps, PAGE_SIZE, offset)
    return render(request, "worker_tokens.html", session, tokens=tokens, notice=notice, error=error,
                  window=page_window(offset, await deps.worker_tokens.count()), params={})


@router.post("", response_class=HTMLResponse)
async def issue_token(request: Request, form: PostedForm, deps: Deps):
    try:
        created = await admin_worker_tokens.create_worker_token(WorkerTokenCreate(group=str(form.get("group", ""))), deps)
    except (ValidationError, ApiError) as exc:
        return back_with_error("/admin/ui/worker-tokens", exc, form)
    return render(request, "key_created.html", form.session, secret=created.token, back="/admin/ui/worker-tokens")


@router.post("/{token_id}/revoke")
async def revoke_token(token_id: str, _: PostedForm, deps: Deps):
    await admin_worker_tokens.update_worker_token(token_id, WorkerTokenUpdate(enabled=False), deps)
    return back_to("/admin/ui/worker-tokens", notice="Saved")
