"""Announcing task changes: a change is stored first (compare-and-swap), then published.

MongoDB is the truth and the event only its fast path. If the process dies between the two
steps, or the broker does not take the event, nothing is lost: settlement's reconciliation
sweep settles a terminal task left unsettled, and a lost non-terminal change only means a
waiter sees it at its next look at the task.
"""
from __future__ import annotations

import logging
from typing import Any

from shared.crash_points import crash_point
from shared.events import CallbackTarget, Event, SettlementFacts, TaskStatusChanged
from shared.kafka import EventPublisher, PublishFailed
from shared.status import TaskStatus
from shared.task_record import Task
from shared.tasks import TaskStore

log = logging.getLogger(__name__)


def status_changed(task: Task, previous: TaskStatus | None = None) -> TaskStatusChanged:
    facts = SettlementFacts.of(task) if task.status.is_terminal and task.hold_id else None
    callback = None
    if not task.status.is_terminal and task.callback_url and "progress" in (task.callback_events or ()):
        callback = CallbackTarget(url=task.callback_url, events=task.callback_events)
    return TaskStatusChanged(correlation_id=task.id, task_id=task.id, user_id=task.user_id, status=task.status,
                             previous_status=previous, progress=task.progress, reason=task.fail_reason,
                             settlement=facts, callback=callback)


async def publish_stored(publisher: EventPublisher, event: Event) -> None:
    """Publishes the event of a change already stored; a broker that does not take it is logged,
    not raised: the stored change stands, and the sweep finishes what the event would have."""
    try:
        await publisher.publish(event)
    except PublishFailed as exc:
        log.warning("change stored but its event not published", extra={"error": str(exc)})


async def announce(publisher: EventPublisher, task: Task, previous: TaskStatus | None) -> None:
    """Publishes a status change already stored."""
    if task.status.is_terminal:
        crash_point("task.finished")
    await publish_stored(publisher, status_changed(task, previous))


async def finish_and_announce(tasks: TaskStore, publisher: EventPublisher, task_id: str, status: TaskStatus,
                              **fields: Any) -> Task | None:
    """Moves an active task to a terminal status and publishes the change; settlement then
    captures or voids its hold. Only the caller that wins the compare-and-swap publishes."""
    finished = await tasks.finish(task_id, status, **fields)
    if finished is None:
        return None
    previous, task = finished
    await announce(publisher, task, previous)
    return task


async def fail_and_announce(tasks: TaskStore, publisher: EventPublisher, task_id: str, reason: str,
                            message: str | None = None) -> Task | None:
    """Fails an active task and publishes the change; settlement then refunds its hold."""
    return await finish_and_announce(tasks, publisher, task_id, TaskStatus.FAILURE, fail_reason=reason,
                                     error=message or reason)
