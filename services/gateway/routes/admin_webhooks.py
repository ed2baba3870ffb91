"""Admin view of webhook deliveries (`shared.webhook_deliveries`): every attempt, by task, user or state."""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query

from services.gateway.deps import AdminAuth, Deps
from services.gateway.paging import Offset
from shared.webhook_deliveries import WebhookDeliveries, public_view

router = APIRouter(prefix="/admin/webhook-deliveries", tags=["admin"], dependencies=[AdminAuth])


@router.get("")
async def webhook_deliveries(deps: Deps, task_id: str | None = Query(None, max_length=100),
                             user_id: str | None = Query(None, max_length=100),
                             state: Literal["pending", "delivered", "failed", "refused"] | None = None,
                             limit: int = Query(50, ge=1, le=500), offset: Offset = 0) -> dict:
    """Newest first, with each delivery's attempts (time, HTTP status or error)."""
    query = {k: v for k, v in {"task_id": task_id, "user_id": user_id, "state": state}.items() if v}
    rows = await WebhookDeliveries(deps.db).listing(query, limit, offset)
    return {"data": [{**public_view(row), "task_id": row["task_id"], "user_id": row["user_id"]} for row in rows],
            "limit": limit, "offset": offset}
