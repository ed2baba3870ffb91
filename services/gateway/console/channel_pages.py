"""Console pages for channels: list with health, create and edit through the admin API's own
code, enable/disable, archive (the API's delete), and a one-call connectivity test."""
from __future__ import annotations

import time
from collections import Counter
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from services.gateway.console.channel_form import channel_body, settings_in_force
from services.gateway.console.api_messages import error_messages
from services.gateway.console.pages import PAGE_SIZE, PageSession, PostedForm, back_to, page_window, render
from services.gateway.deps import Deps
from services.gateway.errors import ApiError
from services.gateway.paging import Offset
from services.gateway.routes import admin_channels
from services.gateway.schemas import ChannelCreate, ChannelUpdate
from shared.channels import SUBMIT_SUFFIX, Channel
from shared.clock import stamp, stamp_in
from shared.status import TaskStatus
from shared.task_reads import TaskReads
from shared.upstream import custompass

router = APIRouter(prefix="/admin/ui/channels", include_in_schema=False)
ERROR_WINDOW_S = 3600
ERROR_SAMPLE = 5000  # keeps the channel list cheap however busy the channels are


@router.get("", response_class=HTMLResponse)
async def channel_list(request: Request, session: PageSession, deps: Deps, offset: Offset = 0,
                       notice: str | None = None) -> HTMLResponse:
    channels = await deps.channels.list(PAGE_SIZE, offset)
    total = await deps.channels.count()
    rates = await recent_error_rates(TaskReads(deps.db), [c.id for c in channels])
    return render(request, "channels.html", session, channels=channels, rates=rates, notice=notice, now=stamp(),
                  window=page_window(offset, total), params={})


@router.get("/new", response_class=HTMLResponse)
async def new_channel(request: Request, session: PageSession, deps: Deps) -> HTMLResponse:
    return render(request, "channel_form.html", session, channel=None, errors=[],
                  in_force=settings_in_force(None, deps.settings))


@router.post("/new")
async def create_channel(request: Request, form: PostedForm, deps: Deps):
    try:
        created = await admin_channels.create_channel(ChannelCreate.model_validate(channel_body(form.form, creating=True)), deps)
    except (ValidationError, ApiError) as exc:
        return render(request, "channel_form.html", form.session, status_code=422, channel=None,
                      errors=error_messages(exc, form.lang), in_force=settings_in_force(None, deps.settings), form=form.form)
    return back_to(f"/admin/ui/channels/{created.id}", notice="Saved")


@router.get("/{channel_id}", response_class=HTMLResponse)
async def edit_channel(request: Request, channel_id: str, session: PageSession, deps: Deps,
                       notice: str | None = None) -> HTMLResponse:
    channel = await admin_channels.existing_channel(deps, channel_id)
    return render(request, "channel_form.html", session, channel=channel, errors=[], notice=notice,
                  in_force=settings_in_force(channel, deps.settings), test=None)


@router.post("/{channel_id}")
async def update_channel(request: Request, channel_id: str, form: PostedForm, deps: Deps):
    try:
        body = ChannelUpdate.model_validate(channel_body(form.form, creating=False))
        await admin_channels.update_channel(channel_id, body, deps)
    except (ValidationError, ApiError) as exc:
        channel = await admin_channels.existing_channel(deps, channel_id)
        return render(request, "channel_form.html", form.session, status_code=422, channel=channel,
                      errors=error_messages(exc, form.lang), in_force=settings_in_force(channel, deps.settings), test=None)
    return back_to(f"/admin/ui/channels/{channel_id}", notice="Saved")


@router.post("/{channel_id}/enabled")
async def set_enabled(channel_id: str, form: PostedForm, deps: Deps):
    await admin_channels.update_channel(channel_id, ChannelUpdate(enabled=form.get("enabled") == "true"), deps)
    return back_to("/admin/ui/channels", notice="Saved")


@router.post("/{channel_id}/archive")
async def archive_channel(channel_id: str, _: PostedForm, deps: Deps):
    """The admin API's delete: the channel stops serving and leaves the list; its tasks still settle."""
    await admin_channels.delete_channel(channel_id, deps)
    return back_to("/admin/ui/channels", notice="Channel archived")


@router.post("/{channel_id}/test", response_class=HTMLResponse)
async def test_channel(request: Request, channel_id: str, form: PostedForm, deps: Deps) -> HTMLResponse:
    channel = await admin_channels.existing_channel(deps, channel_id)
    return render(request, "channel_form.html", form.session, channel=channel, errors=[],
                  in_force=settings_in_force(channel, deps.settings), test=await _probe(deps, channel))


async def _probe(deps: Deps, channel: Channel) -> dict[str, Any]:
    """One real upstream request. Async channels answer a status query for an id that does not
    exist (nothing is created or charged upstream); other kinds a GET of their base URL."""
    if not channel.base_url:
        return {"outcome": "No base URL to call", "latency_ms": None, "answer": ""}
    call = custompass.call_for_channel(channel, None, deps.settings)
    model = channel.models[0].removesuffix(SUBMIT_SUFFIX)
    started = time.perf_counter()
    try:
        if channel.kind == "custompass_async":
            response = await deps.http.post(f"{call.base_url}/{model}/task/list-by-condition",
                                            json={"task_ids": ["console-connectivity-check"]},
                                            headers=call.headers(), timeout=call.timeout_s)
        else:
            response = await deps.http.get(call.base_url, headers=call.headers(), timeout=call.timeout_s)
        outcome, answer = f"HTTP {response.status_code}", response.text[:4000]
    except httpx.HTTPError as exc:
        outcome, answer = f"failed: {type(exc).__name__}", str(exc)
    return {"outcome": outcome, "latency_ms": round((time.perf_counter() - started) * 1000, 1), "answer": answer}


async def recent_error_rates(tasks: TaskReads, channel_ids: list[str]) -> dict[str, tuple[str, int]]:
    """Failed share of the channels' tasks finished in the last ERROR_WINDOW_S, over at most the
    ERROR_SAMPLE most recent of them, as (the share, how many finished): one bounded query, counted here. Not a `$group` on a
    compound `_id`: the MongoDB stand-in answers that with the expression unevaluated."""
    finished = await tasks.finished_on(channel_ids, stamp_in(-ERROR_WINDOW_S), ERROR_SAMPLE)
    totals = Counter(channel for channel, _ in finished)
    failures = Counter(channel for channel, status in finished if status is TaskStatus.FAILURE)
    return {channel: (f"{failures[channel] / total:.0%}", total) for channel, total in totals.items()}
