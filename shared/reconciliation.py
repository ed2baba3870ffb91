"""Reconciliation of one channel over a period: what we charged for its tasks against what its
upstream says they cost (shared/upstream_cost.py), the margin, and the tasks whose ratio
charged / upstream cost lies outside the channel's `expected_margin_band`.

Pure: it is fed the channel's tasks that finished in the period, one at a time, and keeps only
totals and at most `list_limit` listed tasks, so a period of any size costs constant memory.

- revenue: what settlement charged (`settlement.charged`) for the settled tasks; tasks not settled
  yet are counted apart (`unsettled`) and add nothing.
- upstream cost: the sum of the recorded costs, in the channel's unit (`amount`, exact) and in
  quota (`quota`, the figure each task snapshotted when it ended).
- margin: revenue - upstream cost in quota. Tasks whose upstream reported no cost add revenue but
  no cost, so `margin_with_upstream_cost` compares only the tasks that have both.
- late results: a task we failed on timeout (charged nothing, refunded) whose upstream reported
  afterwards (shared/late_results.py) adds the upstream cost of its late report like any recorded
  cost: money paid upstream for nothing charged. `late_success` counts those the upstream finished,
  `late_success_upstream_cost` sums their cost. They count in the period their task failed in.
- band: a settled task with a recorded cost is outside when charged / cost < min or > max; a
  cost of 0 makes the ratio infinite (outside unless nothing was charged either, which is no ratio).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from shared.late_results import LATE_SUCCESS
from shared.status import TaskStatus
from shared.upstream_cost import CostTerms

if TYPE_CHECKING:  # pure figures: the records are only types here
    from shared.channels import Channel
    from shared.task_record import Task

# What a reconciliation reads of each task (a projection, so a period's scan moves little data).
TASK_FIELDS = ["settled", "settlement", "upstream_cost", "upstream_cost_error", "finished_at", "late_result"]
INFINITE = "inf"


@dataclass(frozen=True)
class Band:
    min: Fraction
    max: Fraction

    @classmethod
    def of(cls, channel: Channel) -> Band | None:
        band = channel.expected_margin_band
        if not band:
            return None
        return cls(Fraction(str(band["min"])), Fraction(str(band["max"])))

    def holds(self, ratio: Fraction | None) -> bool:
        """None: an infinite ratio (nothing paid upstream for a charged task)."""
        return ratio is not None and self.min <= ratio <= self.max


@dataclass
class ChannelReconciliation:
    channel: Channel
    list_limit: int
    tasks: int = 0
    succeeded: int = 0
    failed: int = 0
    settled: int = 0
    unsettled: int = 0
    with_upstream_cost: int = 0
    upstream_cost_rejected: int = 0
    revenue: int = 0
    revenue_with_upstream_cost: int = 0
    cost_quota: int = 0
    cost_amount: Decimal = Decimal(0)
    outside_band: int = 0
    late_success: int = 0
    late_cost_quota: int = 0
    late_cost_amount: Decimal = Decimal(0)
    listed: list[dict[str, Any]] = field(default_factory=list)

    def add(self, task: Task) -> None:
        self.tasks += 1
        self.succeeded += task.status is TaskStatus.SUCCESS
        self.failed += task.status is TaskStatus.FAILURE
        late = task.late_result or {}
        self.upstream_cost_rejected += bool(task.upstream_cost_error or late.get("upstream_cost_error"))
        cost = task.upstream_cost or late.get("upstream_cost")
        if late.get("status") == LATE_SUCCESS:
            self.late_success += 1
            if cost:
                self.late_cost_quota += int(cost["quota"])
                self.late_cost_amount += Decimal(cost["amount"])
        if cost:
            self.with_upstream_cost += 1
            self.cost_quota += int(cost["quota"])
            self.cost_amount += Decimal(cost["amount"])
        if not task.settled:
            self.unsettled += 1
            return
        self.settled += 1
        charged = int((task.settlement or {}).get("charged") or 0)
        self.revenue += charged
        if cost:
            self.revenue_with_upstream_cost += charged
            self._judge(task, charged, cost)

    def _judge(self, task: Task, charged: int, cost: dict[str, Any]) -> None:
        band, cost_quota = Band.of(self.channel), int(cost["quota"])
        if band is None or (charged == 0 and cost_quota == 0):
            return
        ratio = Fraction(charged, cost_quota) if cost_quota else None
        if band.holds(ratio):
            return
        self.outside_band += 1
        if len(self.listed) < self.list_limit:
            self.listed.append({"task_id": task.id, "status": task.status.value,
                                "finished_at": task.finished_at, "charged": charged,
                                "upstream_cost": cost, "ratio": ratio_text(ratio)})

    def summary(self) -> dict[str, Any]:
        band = self.channel.expected_margin_band
        unit = CostTerms.of(self.channel).unit
        return {
            "channel_id": self.channel.id, "channel_name": self.channel.name,
            "tasks": self.tasks, "succeeded": self.succeeded, "failed": self.failed, "settled": self.settled,
            "unsettled": self.unsettled, "with_upstream_cost": self.with_upstream_cost,
            "upstream_cost_rejected": self.upstream_cost_rejected,
            "revenue": self.revenue,
            "upstream_cost": _total(self.cost_amount, unit, self.cost_quota),
            "margin": self.revenue - self.cost_quota,
            "revenue_with_upstream_cost": self.revenue_with_upstream_cost,
            "margin_with_upstream_cost": self.revenue_with_upstream_cost - self.cost_quota,
            "expected_margin_band": {"min": str(band["min"]), "max": str(band["max"])} if band else None,
            "outside_band": self.outside_band, "outside_band_tasks": self.listed,
            "outside_band_truncated": self.outside_band > len(self.listed),
            "late_success": self.late_success,
            "late_success_upstream_cost": _total(self.late_cost_amount, unit, self.late_cost_quota),
        }


def _total(amount: Decimal, unit: str, quota: int) -> dict[str, Any]:
    return {"amount": format(amount.normalize(), "f"), "unit": unit, "quota": quota}


def ratio_text(ratio: Fraction | None) -> str:
    """charged / upstream cost as a decimal string to 6 places; `inf` for a cost of 0."""
    if ratio is None:
        return INFINITE
    return str((Decimal(ratio.numerator) / Decimal(ratio.denominator)).quantize(Decimal("0.000001")))
