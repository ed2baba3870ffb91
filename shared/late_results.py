"""Late results: what an upstream says about a task after we failed it on timeout.

The task stays failed and its hold stays voided (the owner was refunded in full): a late report
never moves money, it is only recorded, once, as the task's `late_result`:
`{status: late_success | late_failure, result (a success's, our copies; result_storage_errors
when a copy failed), upstream_cost or
upstream_cost_error (in the channel's unit, shared/upstream_cost.py), error (a failure's),
reported_at, delivery}`. `delivery` is the channel's `late_result` policy when it was recorded:
- `drop` (the default): only the operator sees it (the admin task views, reconciliation);
- `deliver_free`: the owner's task views show it too (`late_result` / `lateResult`), uncharged.

Pure: which tasks may take a late report, the record, and how an owner sees it. Storing it is
`TaskStore.record_late_result`; finding it is the poller's late watch (services/poller/late_watch.py)
or an upstream webhook (shared/providers/observations.py, `apply_late_observation`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from shared.status import TaskStatus
from shared.typed_tasks import result_urls

if TYPE_CHECKING:  # pure: the records are only types here
    from shared.channels import Channel
    from shared.task_record import Task

LatePolicy = Literal["drop", "deliver_free"]
LATE_SUCCESS, LATE_FAILURE = "late_success", "late_failure"
LATE_REASON = "timeout"  # only our own timeouts wait for news: any other failure is the upstream's or final
DEFAULT_POLICY: LatePolicy = "drop"
WATCH_POLLS = 10  # a late watch asks about a task about this many times over its window


def awaits_late_result(task: Task) -> bool:
    """A task we failed on timeout that has no late result yet."""
    return task.status is TaskStatus.FAILURE and task.fail_reason == LATE_REASON and task.late_result is None


def policy(channel: Channel) -> LatePolicy:
    return "deliver_free" if channel.late_result == "deliver_free" else DEFAULT_POLICY


def watch_window_s(channel: Channel, default_s: float) -> float:
    """How long after its timeout a task of the channel is still asked about (0: not at all)."""
    window = channel.late_watch_s
    return float(default_s if window is None else window)


def watch_every_s(window_s: float, poll_interval_s: float) -> float:
    """A late watch's pace: about WATCH_POLLS questions over the window, never more often than
    the channel's own poll interval."""
    return max(poll_interval_s, window_s / WATCH_POLLS)


def late_record(channel: Channel, status: TaskStatus, reported_at: str, cost: dict[str, Any],
                result: Any = None, error: str | None = None) -> dict[str, Any]:
    """The `late_result` of a terminal report (`cost`: observations.cost_fields)."""
    record: dict[str, Any] = {"status": LATE_SUCCESS if status is TaskStatus.SUCCESS else LATE_FAILURE,
                              "reported_at": reported_at, "delivery": policy(channel), **cost}
    if status is TaskStatus.SUCCESS:
        record["result"] = result
    else:
        record["error"] = error or "upstream reported failure"
    return record


def delivered(late: dict[str, Any] | None) -> dict[str, Any] | None:
    """The late result (a task's `late_result`) the owner may see, or None (none, or the channel drops them)."""
    if not late or late.get("delivery") != "deliver_free":
        return None
    return late


def pass_late_view(late: dict[str, Any]) -> dict[str, Any]:
    view = {"status": late["status"], "reported_at": late["reported_at"], "charged": 0}
    if late["status"] == LATE_SUCCESS:
        view["result"] = late.get("result")
    return view


def task_api_late_view(late: dict[str, Any]) -> dict[str, Any]:
    return {"status": late["status"], "reportedAt": late["reported_at"], "charged": 0,
            "resultUrls": result_urls(late.get("result"))}
