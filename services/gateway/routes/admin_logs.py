"""Admin view of every consumption log, with filters."""
from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query

from services.gateway.deps import AdminAuth, Deps
from services.gateway.paging import Offset
from shared.clock import stamp
from shared.consumption import log_view

router = APIRouter(prefix="/admin/consumption-logs", tags=["admin"], dependencies=[AdminAuth])


@router.get("")
async def consumption_logs(deps: Deps, user_id: str | None = None, model: str | None = None,
                           channel_id: str | None = None, status: str | None = None,
                           since: datetime | None = None, until: datetime | None = None,
                           limit: int = Query(50, ge=1, le=500), offset: Offset = 0) -> dict:
    query: dict = {k: v for k, v in {"user_id": user_id, "model": model, "channel_id": channel_id,
                                     "status": status}.items() if v}
    if since or until:
        query["created_at"] = {**({"$gte": stamp(since)} if since else {}), **({"$lt": stamp(until)} if until else {})}
    logs = deps.db["consumption_logs"]
    total = await logs.count_documents(query)
    rows = await logs.find(query).sort("created_at", -1).skip(offset).limit(limit).to_list(limit)
    return {"data": [log_view(r) for r in rows], "total": total, "limit": limit, "offset": offset}
