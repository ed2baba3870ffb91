"""services/poller/sweep.py's pure parts: which leased tasks fail without a poll, and why; and the
sweep's report (seed 002's batch sync summary, and the outcomes its metric counts)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from services.poller.metrics import SUMMARY_OUTCOMES
from services.poller.settings import PollerSettings
from services.poller.sweep import Sweeper, SweepReport
from shared.channels import Channel
from shared.clock import now, stamp
from shared.task_record import Task
from tests.channel_records import channel_of

CHANNEL = channel_of("ch_1", kind="custompass_async", enabled=True)


def aged(seconds: float, **fields) -> Task:
    """A live task submitted upstream, created `seconds` ago."""
    return Task.from_document({"_id": "task_1", "user_id": "usr_1", "channel_id": "ch_1", "status": "IN_PROGRESS",
                               "upstream_task_id": "up_1", "created_at": stamp(now() - timedelta(seconds=seconds)),
                               **fields})


def why_not(task: Task, channel: Channel | None = CHANNEL) -> str | None:
    """Why the sweep fails `task` unpolled (None: it asks the upstream), with a lifetime of an
    hour and a start timeout of ten minutes."""
    sweeper = Sweeper(None, None, None, None, PollerSettings(custom_pass_task_max_lifetime=3600,
                                                              task_start_timeout_s=600), outbound=None)
    return sweeper._cannot_continue(task, channel)


def test_a_live_task_on_a_live_channel_is_polled():
    assert why_not(aged(10)) is None


def test_a_task_past_its_lifetime_times_out_its_own_lifetime_before_its_channel_s():
    assert why_not(aged(3601)) == "timeout"
    assert why_not(aged(3601, task_lifetime_s=7200)) is None
    assert why_not(aged(100), channel_of(task_lifetime_s=60)) == "timeout"
    assert why_not(aged(100, task_lifetime_s=600), channel_of(task_lifetime_s=60)) is None


def test_a_typed_task_still_pending_past_the_start_timeout_fails_on_it():
    assert why_not(aged(601, api="task", status="QUEUED")) == "start_timeout"
    assert why_not(aged(599, api="task", status="QUEUED")) is None
    assert why_not(aged(601, api="task", status="IN_PROGRESS")) is None  # started: only its lifetime bounds it
    assert why_not(aged(601, status="QUEUED")) is None  # not a Task API task: no start timeout


def test_a_worker_task_that_comes_due_has_reached_its_deadline():
    assert why_not(aged(10, channel_kind="worker")) == "timeout"


def test_a_task_never_submitted_upstream_fails_so():
    assert why_not(aged(10, upstream_task_id=None, status="NOT_START")) == "never_submitted"


@pytest.mark.parametrize("channel", [None, channel_of(enabled=False), channel_of(kind="gone_kind")])
def test_a_task_whose_channel_cannot_be_asked_fails_so(channel):
    assert why_not(aged(10), channel) == "channel_unavailable"


def test_the_lifetime_is_judged_before_anything_else():
    assert why_not(aged(3601, api="task", status="QUEUED", upstream_task_id=None), None) == "timeout"


def test_the_report_is_seed_002_s_summary_with_at_most_20_errors():
    report = SweepReport(total=5, updated=3, succeeded=1, failed=2, still_processing=2, upstream_requests=4,
                         errors=[f"ch_{n}: unreachable" for n in range(25)])
    assert report.as_dict() == {"total": 5, "updated": 3, "succeeded": 1, "failed": 2, "stillProcessing": 2,
                                "upstreamRequests": 4, "errors": [f"ch_{n}: unreachable" for n in range(20)]}


def test_the_report_counts_every_outcome_the_metric_names_errors_by_number():
    report = SweepReport(updated=3, succeeded=1, failed=2, still_processing=2, errors=["a", "b"])
    assert report.counts() == {"updated": 3, "succeeded": 1, "failed": 2, "still_processing": 2, "errors": 2}
    assert tuple(report.counts()) == SUMMARY_OUTCOMES
