"""Admin reconciliation: per channel and period, what we charged against what the upstream says
it cost us (services/gateway/reconciliation_report.py), as JSON or as a CSV export."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from services.gateway.deps import AdminAuth, Deps
from services.gateway.reconciliation_report import CSV_HEADERS, as_csv, period, reconcile

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[AdminAuth])


class UpstreamCostTotal(BaseModel):
    amount: str = Field(description="Exact decimal sum, in unit.")
    unit: str
    quota: int


class OutsideBandTask(BaseModel):
    task_id: str
    status: str | None
    finished_at: str | None
    charged: int
    upstream_cost: dict[str, Any] = Field(description="As recorded on the task: {amount, unit, quota}.")
    ratio: str = Field(description="charged / upstream cost in quota, 6 places; `inf` for a cost of 0.")


class ChannelReconciliationPublic(BaseModel):
    channel_id: str
    channel_name: str | None
    tasks: int = Field(description="Tasks of the channel that finished in the period.")
    succeeded: int
    failed: int
    settled: int
    unsettled: int = Field(description="Finished but not settled yet: no revenue counted for them.")
    with_upstream_cost: int
    upstream_cost_rejected: int = Field(description="Tasks whose upstream cost figure was ignored as unbelievable.")
    revenue: int = Field(description="Quota charged for the settled tasks.")
    upstream_cost: UpstreamCostTotal
    margin: int = Field(description="revenue - upstream_cost.quota.")
    revenue_with_upstream_cost: int = Field(description="Revenue of the settled tasks that have an upstream cost.")
    margin_with_upstream_cost: int
    expected_margin_band: dict[str, str] | None
    outside_band: int
    outside_band_tasks: list[OutsideBandTask] = Field(description="The first `limit` outside the band, oldest first.")
    outside_band_truncated: bool
    late_success: int = Field(description=(
        "Tasks failed on timeout (refunded) that the upstream finished afterwards: recorded, never charged."))
    late_success_upstream_cost: UpstreamCostTotal = Field(description=(
        "What the upstream says those cost (also in upstream_cost): paid upstream, charged to nobody."))


class ReconciliationPublic(BaseModel):
    since: str
    until: str
    channels: list[ChannelReconciliationPublic]


@router.get("/reconciliation", response_model=ReconciliationPublic, responses={
    200: {"content": {"text/csv": {}}, "description": "JSON, or with format=csv one row per channel then per task"}})
async def reconciliation(deps: Deps, channel_id: str | None = Query(None, max_length=200),
                         since: datetime | None = Query(None, description="Default: a day before until."),
                         until: datetime | None = Query(None, description="Default: now."),
                         limit: int = Query(100, ge=0, le=1000, description="Tasks outside the band listed per channel."),
                         format: Literal["json", "csv"] = "json") -> Any:
    start, end = period(since, until, deps.settings.reconciliation_max_period_days)
    figures = await reconcile(deps.channels, deps.tasks, channel_id, start, end, limit)
    if format == "csv":
        return Response(as_csv(figures), media_type="text/csv; charset=utf-8", headers=CSV_HEADERS)
    return ReconciliationPublic(since=start, until=end, channels=figures)
