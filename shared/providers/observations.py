"""Applying what an upstream said about a task, whichever way it arrived (a poll, a webhook, a
cancel): the change is stored by compare-and-swap, then published. A poll and a webhook that see
the same completion both try; `finish` lets only one of them through, so it settles once.

A success's files are copied to our storage first (the channel's `result_storage`), so the task,
its `task.status_changed` event, the client and settlement only ever see our URLs.

What the upstream says the task cost is stored beside it (`upstream_cost`, shared/upstream_cost.py);
a figure that cannot be believed is left out, named in `upstream_cost_error` and counted in
`custompass_upstream_cost_rejected_total`.

News of a task already terminal changes nothing, except that the upstream's final word on a task
we failed on timeout is kept as its late result (shared/late_results.py)."""
from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from shared import late_results, upstream_cost
from shared.channels import Channel
from shared.clock import stamp
from shared.kafka import EventPublisher
from shared.providers.base import Observation
from shared.providers.metrics import LATE_RESULTS, UPSTREAM_COST_REJECTED
from shared.result_storage.copier import ResultCopier
from shared.status import TaskStatus
from shared.task_events import announce
from shared.task_record import Task
from shared.tasks import PollLease, SeenChange, TaskStore


async def apply_observation(tasks: TaskStore, publisher: EventPublisher, results: ResultCopier,
                            channel: Channel, task: Task,
                            observation: Observation) -> Task | None:
    """The task after the change, or None when nothing changed (already terminal, or the same).
    News of a task already terminal changes nothing but a late result (`apply_late_observation`)."""
    return (await apply_observations(tasks, publisher, results, channel, [(task, observation)]))[0]


async def apply_observations(tasks: TaskStore, publisher: EventPublisher, results: ResultCopier,
                             channel: Channel, observed: list[tuple[Task, Observation]],
                             lease: PollLease | None = None) -> list[Task | None]:
    """`apply_observation` for each task of one channel, its changes stored in one bulk write
    (`TaskStore.change_many`, which gives a sweep's `lease` back on the tasks it changes): a
    poll of a batch writes once, not once per task."""
    changes: dict[int, SeenChange] = {}
    for index, (task, observation) in enumerate(observed):
        if task.status.is_terminal:
            await apply_late_observation(tasks, results, channel, task, observation)
        else:
            changes[index] = await _change(results, channel, task, observation)
    made = dict(zip(changes, await tasks.change_many(list(changes.values()), lease))) if changes else {}
    for previous, changed in filter(None, made.values()):
        if changed.status.is_terminal:
            count_cost_rejection(channel, changed.upstream_cost_error)
    await asyncio.gather(*(announce(publisher, changed, previous) for previous, changed in filter(None, made.values())))
    return [made[index][1] if made.get(index) else None for index in range(len(observed))]


async def _change(results: ResultCopier, channel: Channel, task: Task, observation: Observation) -> SeenChange:
    """What the observation changes in the active task; a success's files are copied first."""
    if not observation.status.is_terminal:
        return SeenChange(task, observation.status, progress=observation.progress)
    fields = _outcome_fields(observation, channel)
    if observation.status is TaskStatus.SUCCESS:
        kept = await results.keep(channel, task.id, observation.result)
        fields["result"] = kept.result
        if kept.errors:
            fields["result_storage_errors"] = kept.errors
    return SeenChange(task, observation.status, fields=fields)


async def apply_late_observation(tasks: TaskStore, results: ResultCopier, channel: Channel,
                                 task: Task, observation: Observation) -> dict[str, Any] | None:
    """Records the upstream's final word on a task we failed on timeout as its `late_result`
    (shared/late_results.py), once; the task's status and money stay as they are, and no event
    is published. The late result, or None when there was nothing to record."""
    if not observation.status.is_terminal or not late_results.awaits_late_result(task):
        return None
    kept = await results.keep(channel, task.id, observation.result) \
        if observation.status is TaskStatus.SUCCESS else None
    late = late_results.late_record(channel, observation.status, stamp(), result=kept and kept.result,
                                    error=observation.error, cost=cost_fields(channel, observation.upstream_cost,
                                                                              observation.upstream_cost_rejected))
    if kept is not None and kept.errors:
        late["result_storage_errors"] = kept.errors
    if not await tasks.record_late_result(task.id, late):
        return None
    LATE_RESULTS.labels(channel.id, late["status"]).inc()
    count_cost_rejection(channel, late.get("upstream_cost_error"))
    return late


def _outcome_fields(observation: Observation, channel: Channel) -> dict[str, Any]:
    fields: dict[str, Any] = {"result": observation.result,
                              **cost_fields(channel, observation.upstream_cost, observation.upstream_cost_rejected)}
    if observation.usage is not None:
        fields["usage"] = observation.usage
    if observation.usage_error is not None:
        fields["usage_error"] = observation.usage_error  # settled at the held amount, see settlement
    if observation.status is TaskStatus.FAILURE:
        fields["fail_reason"] = observation.fail_reason
        fields["error"] = observation.error or "upstream reported failure"
    return fields


def cost_fields(channel: Channel, cost: Decimal | None, rejected: str | None) -> dict[str, Any]:
    """The task fields of what its upstream said it cost: `upstream_cost` in the channel's unit,
    or `upstream_cost_error` naming why the figure was not believed; none when nothing was said."""
    if cost is not None:
        try:
            return {"upstream_cost": upstream_cost.recorded(cost, upstream_cost.CostTerms.of(channel))}
        except upstream_cost.CostRejected as exc:
            rejected = exc.reason
    return {"upstream_cost_error": rejected} if rejected else {}


def count_cost_rejection(channel: Channel, rejected: str | None) -> None:
    """Counts a finished task's ignored cost figure (`rejected`: why it was not believed, if it
    was not), once: only the task's one finish calls it."""
    if rejected:
        UPSTREAM_COST_REJECTED.labels(channel.id, rejected).inc()
