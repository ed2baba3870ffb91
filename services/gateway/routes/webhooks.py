"""Where upstreams report completions: `POST /webhooks/{kind}/{channel_id}?task_id=` (the URL
the gateway gives at submit, see `webhook_urls`)."""
from __future__ import annotations

from fastapi import APIRouter, Query, Request

from services.gateway.deps import Deps
from services.gateway.webhook_urls import WEBHOOK_PREFIX

router = APIRouter(prefix=WEBHOOK_PREFIX, tags=["webhooks"])


@router.post("/{kind}/{channel_id}")
async def receive_webhook(kind: str, channel_id: str, request: Request, deps: Deps,
                          task_id: str = Query(min_length=1, max_length=200)) -> dict:
    headers = {k.lower(): v for k, v in request.headers.items()}
    taken = await deps.webhook_intake.take(kind, channel_id, task_id, headers, await request.body())
    return {"code": 0, "message": "accepted" if taken else "already received"}
