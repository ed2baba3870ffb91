"""`PUT /api/task/{taskId}/status` (internal): an internal service reports a typed task's
progress. Only pending -> processing -> success | failed; a terminal task stays as it is (409).

Each step is the engine's own compare-and-swap (`TaskStore.advance`, `finish_and_announce`), so
it races safely with the poller and with a concurrent update: one wins, the other answers 409.
A success settles like an upstream's (capture), a failure refunds the hold in full.
"""
from __future__ import annotations


from services.gateway.errors import Conflict, NotFound
from services.gateway.task_api.schemas import StatusUpdate
from shared.status import TaskStatus, to_task_api_status
from shared.kafka import EventPublisher
from shared.typed_tasks import API
from shared.task_events import announce, fail_and_announce, finish_and_announce
from shared.task_record import Task
from shared.tasks import TaskStore

LEGAL = {("pending", "processing"), ("processing", "success"), ("processing", "failed")}
FAILED_BY_SERVICE = "failed_by_service"


async def update_status(tasks: TaskStore, publisher: EventPublisher, task_id: str,
                        change: StatusUpdate) -> Task:
    """The task after the change."""
    task = await tasks.record(task_id)
    if task is None or task.api != API:
        raise NotFound(f"task {task_id} not found", code="task_not_found")
    if task.status is TaskStatus.NOT_START:  # its hold or upstream submit is still under way
        raise Conflict(f"task {task_id} is still being opened; retry shortly", code="task_changed")
    now = to_task_api_status(task.status.value)
    if now in ("success", "failed"):
        raise Conflict(f"task {task_id} is {now} already; a finished task does not change", code="task_finished")
    if (now, change.status) not in LEGAL:
        raise Conflict(f"a {now} task cannot become {change.status}", code="illegal_transition")
    changed = await _apply(tasks, publisher, task, change)
    if changed is None:  # something else moved the task meanwhile
        raise Conflict(f"task {task_id} changed meanwhile; read it and retry", code="task_changed")
    return changed


async def _apply(tasks: TaskStore, publisher: EventPublisher, task: Task,
                 change: StatusUpdate) -> Task | None:
    if change.status == "processing":
        started = await tasks.advance(task, TaskStatus.IN_PROGRESS, task.progress)
        if started is not None:
            await announce(publisher, started, task.status)
        return started
    if change.status == "success":
        return await finish_and_announce(tasks, publisher, task.id, TaskStatus.SUCCESS,
                                         result={"urls": change.resultUrls or []})
    return await fail_and_announce(tasks, publisher, task.id, FAILED_BY_SERVICE,
                                   change.errorMessage or "failed")
