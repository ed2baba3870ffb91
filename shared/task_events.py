"""Announcing task changes: a change is stored first (compare-and-swap), then published."""
from __future__ import annotations

from typing import Any

from shared.crash_points import crash_point
from shared.events import TaskStatusChanged
from shared.kafka import EventPublisher
from shared.status import TaskStatus
from shared.tasks import TaskStore


def status_changed(task: dict[str, Any], previous: str | None = None) -> TaskStatusChanged:
    return TaskStatusChanged(correlation_id=task["_id"], task_id=task["_id"], user_id=task["user_id"],
                             status=TaskStatus(task["status"]),
                             previous_status=TaskStatus(previous) if previous else None,
                             progress=task.get("progress"), reason=task.get("fail_reason"))


async def finish_and_announce(tasks: TaskStore, publisher: EventPublisher, task_id: str, status: TaskStatus,
                              **fields: Any) -> dict[str, Any] | None:
    """Moves an active task to a terminal status and publishes the change; settlement then
    captures or voids its hold. Only the caller that wins the compare-and-swap publishes. If the
    process dies between the two steps, settlement's reconciliation sweep finds the task."""
    before = await tasks.get(task_id)
    finished = await tasks.finish(task_id, status, **fields)
    if finished is not None:
        crash_point("task.finished")
        await publisher.publish(status_changed(finished, before["status"] if before else None))
    return finished


async def fail_and_announce(tasks: TaskStore, publisher: EventPublisher, task_id: str, reason: str,
                            message: str | None = None) -> dict[str, Any] | None:
    """Fails an active task and publishes the change; settlement then refunds its hold."""
    return await finish_and_announce(tasks, publisher, task_id, TaskStatus.FAILURE, fail_reason=reason,
                                     error=message or reason)
