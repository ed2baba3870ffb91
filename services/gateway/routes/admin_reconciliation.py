"""Admin reconciliation: per channel and period, what we charged against what the upstream says
it cost us (shared/reconciliation.py), as JSON or as a CSV export.

Each channel is one query over one range of the tasks' (channel_id, finished_at) index, streamed
with a projection; the period is bounded (RECONCILIATION_MAX_PERIOD_DAYS) and so is the number of
tasks listed (`limit` per channel), so the answer stays small however many tasks the period holds.
"""
from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from services.gateway.deps import AdminAuth, Deps
from services.gateway.errors import InvalidRequest, NotFound
from shared.clock import now, stamp
from shared.reconciliation import TASK_FIELDS, ChannelReconciliation

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[AdminAuth])

MAX_CHANNELS = 500  # without channel_id, the channels reconciled (oldest first)


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


class ReconciliationPublic(BaseModel):
    since: str
    until: str
    channels: list[ChannelReconciliationPublic]


CSV_COLUMNS = ["record", "channel_id", "channel_name", "task_id", "status", "finished_at", "tasks", "settled",
               "with_upstream_cost", "upstream_cost_rejected", "revenue", "upstream_cost_amount",
               "upstream_cost_unit", "upstream_cost_quota", "margin", "margin_with_upstream_cost", "ratio",
               "outside_band"]


@router.get("/reconciliation", response_model=ReconciliationPublic, responses={
    200: {"content": {"text/csv": {}}, "description": "JSON, or with format=csv one row per channel then per task"}})
async def reconciliation(deps: Deps, channel_id: str | None = Query(None, max_length=200),
                         since: datetime | None = Query(None, description="Default: a day before until."),
                         until: datetime | None = Query(None, description="Default: now."),
                         limit: int = Query(100, ge=0, le=1000, description="Tasks outside the band listed per channel."),
                         format: Literal["json", "csv"] = "json") -> Any:
    start, end = _period(since, until, deps.settings.reconciliation_max_period_days)
    channels = await _channels(deps, channel_id)
    figures = []
    for channel in channels:
        report = ChannelReconciliation(channel, limit)
        async for task in deps.tasks.finished_on_channel(channel["_id"], start, end, TASK_FIELDS):
            report.add(task)
        figures.append(report.summary())
    if format == "csv":
        return Response(as_csv(figures), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": 'attachment; filename="reconciliation.csv"'})
    return ReconciliationPublic(since=start, until=end, channels=figures)


def _period(since: datetime | None, until: datetime | None, max_days: float) -> tuple[str, str]:
    try:
        end = _utc(until) or now()
        start = _utc(since) or end - timedelta(days=1)
        if start >= end:
            raise InvalidRequest("since must be before until", code="invalid_period")
        if end - start > timedelta(days=max_days):
            raise InvalidRequest(f"the period may span at most {max_days:g} days", code="invalid_period")
        return stamp(start), stamp(end)
    except OverflowError:  # a time at the edge of datetime's range
        raise InvalidRequest("since or until is out of range", code="invalid_period") from None


def _utc(moment: datetime | None) -> datetime | None:
    """Naive times are UTC."""
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


async def _channels(deps: Deps, channel_id: str | None) -> list[dict[str, Any]]:
    if channel_id is None:
        return await deps.channels.list(MAX_CHANNELS, 0, include_archived=True)
    channel = await deps.channels.get(channel_id)
    if channel is None:
        raise NotFound(f"channel {channel_id} not found")
    return [channel]


def as_csv(figures: list[dict[str, Any]]) -> str:
    """One `channel` row per channel, then one `task` row per listed task; the csv module quotes
    commas, quotes and line breaks, and text that a spreadsheet would run as a formula is defused."""
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in figures:
        cost = row["upstream_cost"]
        common = {"channel_id": _text(row["channel_id"]), "channel_name": _text(row["channel_name"])}
        writer.writerow({"record": "channel", **common, "tasks": row["tasks"], "settled": row["settled"],
                         "with_upstream_cost": row["with_upstream_cost"],
                         "upstream_cost_rejected": row["upstream_cost_rejected"], "revenue": row["revenue"],
                         "upstream_cost_amount": cost["amount"], "upstream_cost_unit": _text(cost["unit"]),
                         "upstream_cost_quota": cost["quota"], "margin": row["margin"],
                         "margin_with_upstream_cost": row["margin_with_upstream_cost"],
                         "outside_band": row["outside_band"]})
        for task in row["outside_band_tasks"]:
            writer.writerow({"record": "task", **common, "task_id": _text(task["task_id"]),
                             "status": task["status"], "finished_at": task["finished_at"], "revenue": task["charged"],
                             "upstream_cost_amount": task["upstream_cost"]["amount"],
                             "upstream_cost_unit": _text(task["upstream_cost"]["unit"]),
                             "upstream_cost_quota": task["upstream_cost"]["quota"], "ratio": task["ratio"],
                             "outside_band": 1})
    return out.getvalue()


def _text(value: Any) -> str:
    """A text cell that begins like a formula (= + - @, tab, CR) is prefixed with ' (OWASP)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
