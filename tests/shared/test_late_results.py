"""shared/late_results.py: who sees a late result, and the late watch's window and pace."""
from __future__ import annotations

from shared.late_results import awaits_late_result, late_record, policy, watch_every_s, watch_window_s
from shared.status import TaskStatus
from shared.task_record import Task
from shared.task_views import pass_view, task_api_view
from tests.channel_records import channel_of

LATE = {"status": "late_success", "reported_at": "2026-12-02T10:00:00.000000Z",
        "result": {"url": "https://example.invalid/v.mp4"}, "upstream_cost": {"amount": "4", "unit": "quota", "quota": 4}}
TASK = {"_id": "task_1", "user_id": "usr_1", "status": "FAILURE", "fail_reason": "timeout", "error": "timeout",
        "progress": "0%", "created_at": "2026-12-02T09:00:00.000000Z"}


def test_deliver_free_shows_the_late_result_to_the_owner_uncharged():
    task = Task.from_document({**TASK, "late_result": {**LATE, "delivery": "deliver_free"}})
    view = pass_view(task)
    assert view["status"] == "failed" and view["error"] == "timeout"
    assert view["late_result"] == {"status": "late_success", "reported_at": LATE["reported_at"], "charged": 0,
                                   "result": LATE["result"]}
    assert task_api_view(task)["lateResult"] == {"status": "late_success", "reportedAt": LATE["reported_at"],
                                                 "charged": 0, "resultUrls": ["https://example.invalid/v.mp4"]}


def test_drop_keeps_it_from_the_owner():
    task = Task.from_document({**TASK, "late_result": {**LATE, "delivery": "drop"}})
    assert "late_result" not in pass_view(task) and "lateResult" not in task_api_view(task)
    assert "upstream_cost" not in str(pass_view(task))


def test_only_a_timeout_without_a_late_result_awaits_one():
    assert awaits_late_result(Task.from_document(TASK))
    assert not awaits_late_result(Task.from_document({**TASK, "late_result": LATE}))
    assert not awaits_late_result(Task.from_document({**TASK, "fail_reason": "upstream_failed"}))
    assert not awaits_late_result(Task.from_document({**TASK, "status": "SUCCESS"}))


def test_window_and_pace():
    assert watch_window_s(channel_of(), 1800) == 1800 and watch_window_s(channel_of(late_watch_s=0), 1800) == 0
    assert watch_every_s(1800, 30) == 180 and watch_every_s(60, 30) == 30


def test_a_late_success_records_its_result_and_a_late_failure_its_error():
    cost = {"upstream_cost": {"amount": "4", "unit": "quota", "quota": 4}}
    success = late_record(channel_of(late_result="deliver_free"), TaskStatus.SUCCESS, LATE["reported_at"], cost,
                          result=LATE["result"], error="ignored")
    assert success == {"status": "late_success", "reported_at": LATE["reported_at"], "delivery": "deliver_free",
                       "result": LATE["result"], **cost}
    failure = late_record(channel_of(), TaskStatus.FAILURE, LATE["reported_at"], {}, result={"url": "x"})
    assert failure == {"status": "late_failure", "reported_at": LATE["reported_at"], "delivery": "drop",
                       "error": "upstream reported failure"}


def test_only_deliver_free_delivers_and_anything_else_drops():
    assert policy(channel_of(late_result="deliver_free")) == "deliver_free"
    assert [policy(channel_of(late_result=word)) for word in (None, "drop", "charge")] == ["drop"] * 3
