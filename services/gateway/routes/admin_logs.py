"""Admin view of every consumption log, with filters."""
from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query

from services.gateway.deps import AdminAuth, Deps
from services.gateway.paging import Offset
from shared.consumption import ConsumptionLogs, LogFilter

router = APIRouter(prefix="/admin/consumption-logs", tags=["admin"], dependencies=[AdminAuth])


@router.get("")
async def consumption_logs(deps: Deps, user_id: str | None = None, model: str | None = None,
                           channel_id: str | None = None, status: str | None = None,
                           since: datetime | None = None, until: datetime | None = None,
                           limit: int = Query(50, ge=1, le=500), offset: Offset = 0) -> dict:
    wanted = LogFilter(user_id=user_id, model=model, channel_id=channel_id, status=status, since=since, until=until)
    rows, total = await ConsumptionLogs(deps.db).page(wanted, limit, offset)
    return {"data": [r.view() for r in rows], "total": total, "limit": limit, "offset": offset}
