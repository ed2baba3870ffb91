"""shared/reconciliation.py: a channel's figures over a period from its tasks, fed one by one."""
from __future__ import annotations

from shared.channels import Channel
from shared.reconciliation import ChannelReconciliation
from shared.task_record import Task
from tests.channel_records import channel_of

CHANNEL = channel_of("ch_1", name="video", upstream_cost_unit={"name": "USD", "quota_per_unit": "1000"},
                     expected_margin_band={"min": "1.5", "max": "3"})


def task(n: int, charged: int | None, cost_quota: int | None, status: str = "SUCCESS", **extra) -> dict:
    doc = {"_id": f"task_{n}", "user_id": "usr_1", "status": status, "finished_at": f"2026-12-02T10:00:0{n}.000000Z", **extra}
    if charged is not None:
        doc.update(settled=True, settlement={"charged": charged})
    if cost_quota is not None:
        doc["upstream_cost"] = {"amount": str(cost_quota / 1000), "unit": "USD", "quota": cost_quota}
    return doc


def figures(tasks: list[dict], channel: Channel = CHANNEL, limit: int = 10) -> dict:
    report = ChannelReconciliation(channel, limit)
    for doc in tasks:
        report.add(Task.from_document(doc))
    return report.summary()


def test_revenue_cost_margin_and_counts():
    summary = figures([task(1, 10, 4), task(2, 10, 8), task(3, 10, None), task(4, 0, 2, "FAILURE"),
                       task(5, None, 3), task(6, 10, None, upstream_cost_error="negative")])
    assert {k: summary[k] for k in ("tasks", "succeeded", "failed", "settled", "unsettled", "with_upstream_cost",
                                    "upstream_cost_rejected", "revenue", "margin", "revenue_with_upstream_cost",
                                    "margin_with_upstream_cost", "outside_band")} == {
        "tasks": 6, "succeeded": 5, "failed": 1, "settled": 5, "unsettled": 1, "with_upstream_cost": 4,
        "upstream_cost_rejected": 1, "revenue": 40, "margin": 40 - 17, "revenue_with_upstream_cost": 20,
        "margin_with_upstream_cost": 20 - 17, "outside_band": 2}
    assert summary["upstream_cost"] == {"amount": "0.017", "unit": "USD", "quota": 17}
    assert summary["expected_margin_band"] == {"min": "1.5", "max": "3"}
    assert [(t["task_id"], t["ratio"]) for t in summary["outside_band_tasks"]] == [
        ("task_2", "1.250000"), ("task_4", "0.000000")]


def test_a_cost_of_zero_is_an_infinite_ratio_and_nothing_for_nothing_is_no_ratio():
    summary = figures([task(1, 10, 0), task(2, 0, 0), task(3, 30, 10), task(4, 15, 10)])
    assert [(t["task_id"], t["ratio"]) for t in summary["outside_band_tasks"]] == [("task_1", "inf")]
    assert summary["outside_band"] == 1  # 3.0 and 1.5 are inside: the band's ends are included


def test_listing_is_bounded_but_counting_is_not():
    summary = figures([task(n, 1, 10) for n in range(8)], limit=3)
    assert summary["outside_band"] == 8 and len(summary["outside_band_tasks"]) == 3
    assert summary["outside_band_truncated"] is True


def test_without_a_band_nothing_is_listed_and_costs_are_quota():
    summary = figures([task(1, 1, 100)], channel=channel_of("ch_2"))
    assert summary["outside_band"] == 0 and summary["expected_margin_band"] is None
    assert summary["upstream_cost"]["unit"] == "quota" and summary["margin"] == -99


def test_a_late_success_is_upstream_cost_for_nothing_charged():
    """A task failed on timeout (refunded) that the upstream finished later (shared/late_results.py)."""
    late = {"status": "late_success", "upstream_cost": {"amount": "0.006", "unit": "USD", "quota": 6}}
    summary = figures([task(1, 30, 10), task(2, 0, None, "FAILURE", late_result=late),
                       task(3, 0, None, "FAILURE", late_result={"status": "late_failure"})])
    assert (summary["late_success"], summary["late_success_upstream_cost"]) == (
        1, {"amount": "0.006", "unit": "USD", "quota": 6})
    assert summary["upstream_cost"]["quota"] == 16 and summary["margin"] == 30 - 16
    assert [(t["task_id"], t["ratio"]) for t in summary["outside_band_tasks"]] == [("task_2", "0.000000")]
