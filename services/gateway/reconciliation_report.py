"""Reconciliation of channels over a period (shared/reconciliation.py figures), as the admin API
and the console both serve it: the period's bounds, the figures per channel, the CSV export.

Each channel is one query over one range of the tasks' (channel_id, finished_at) index, streamed
with a projection; the period is bounded (RECONCILIATION_MAX_PERIOD_DAYS) and so is the number of
tasks listed (`limit` per channel), so a report stays small however many tasks the period holds.
"""
from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

from services.gateway.errors import InvalidRequest, NotFound
from shared.channels import Channel, ChannelRepository
from shared.clock import now, stamp
from shared.reconciliation import TASK_FIELDS, ChannelReconciliation
from shared.tasks import TaskStore

MAX_CHANNELS = 500  # without channel_id, the channels reconciled (oldest first)
CSV_COLUMNS = ["record", "channel_id", "channel_name", "task_id", "status", "finished_at", "tasks", "settled",
               "with_upstream_cost", "upstream_cost_rejected", "revenue", "upstream_cost_amount",
               "upstream_cost_unit", "upstream_cost_quota", "margin", "margin_with_upstream_cost", "ratio",
               "outside_band", "late_success", "late_success_upstream_cost_quota"]
CSV_HEADERS = {"Content-Disposition": 'attachment; filename="reconciliation.csv"'}


def period(since: datetime | None, until: datetime | None, max_days: float) -> tuple[str, str]:
    """The period as stamps: until defaults to now, since to a day before until; naive times are
    UTC. An inverted or too long period is a 400 `invalid_period`."""
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


async def reconcile(channels: ChannelRepository, tasks: TaskStore, channel_id: str | None, start: str, end: str,
                    limit: int) -> list[dict[str, Any]]:
    """The figures of one channel (404 when it does not exist) or of every channel."""
    figures = []
    for channel in await _channels(channels, channel_id):
        report = ChannelReconciliation(channel, limit)
        async for task in tasks.finished_on_channel(channel.id, start, end, TASK_FIELDS):
            report.add(task)
        figures.append(report.summary())
    return figures


def _utc(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


async def _channels(channels: ChannelRepository, channel_id: str | None) -> list[Channel]:
    if channel_id is None:
        return await channels.list(MAX_CHANNELS, 0, include_archived=True)
    channel = await channels.get(channel_id)
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
                         "outside_band": row["outside_band"], "late_success": row["late_success"],
                         "late_success_upstream_cost_quota": row["late_success_upstream_cost"]["quota"]})
        for listed in row["outside_band_tasks"]:
            writer.writerow({"record": "task", **common, "task_id": _text(listed["task_id"]),
                             "status": listed["status"], "finished_at": listed["finished_at"],
                             "revenue": listed["charged"],
                             "upstream_cost_amount": listed["upstream_cost"]["amount"],
                             "upstream_cost_unit": _text(listed["upstream_cost"]["unit"]),
                             "upstream_cost_quota": listed["upstream_cost"]["quota"], "ratio": listed["ratio"],
                             "outside_band": 1})
    return out.getvalue()


def _text(value: Any) -> str:
    """A text cell that begins like a formula (= + - @, tab, CR) is prefixed with ' (OWASP)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text

