"""A caller cancelling their own task: the upstream cancels it, the task fails as `canceled` and
settlement refunds the hold. An upstream that finished the task before the cancel reached it
answers with that outcome, which is what the task gets (a success is charged)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from services.gateway.errors import Conflict, NotFound
from services.gateway.settings import GatewaySettings
from services.gateway.task_opening import as_api_error
from shared.channels import ChannelRepository
from shared.kafka import EventPublisher
from shared.providers.base import Unsupported, UpstreamContext
from shared.providers.observations import apply_observation
from shared.providers.registry import provider_for
from shared.result_storage.copier import ResultCopier
from shared.status import TaskStatus
from shared.task_record import Task
from shared.tasks import TaskStore
from shared.upstream.errors import UpstreamError

if TYPE_CHECKING:  # deps wires the container: only a type here
    from services.gateway.deps import CallerIdentity


@dataclass(frozen=True)
class Cancellation:
    """The cancel use case, given what it uses (`Container.cancellation` names them)."""
    settings: GatewaySettings
    channels: ChannelRepository
    tasks: TaskStore
    publisher: EventPublisher
    results: ResultCopier
    http: httpx.AsyncClient

    async def cancel(self, caller: CallerIdentity, task_id: str) -> Task:
        """The task after the cancel: failed as `canceled`, or as the upstream finished it first."""
        task = await self.tasks.get_owned(task_id, caller.user_id)
        if task is None:  # another user's task answers exactly like a missing one
            raise NotFound(f"task {task_id} not found", code="task_not_found")
        if task.status.is_terminal:
            raise Conflict(f"task {task_id} has finished already", code="task_finished")
        channel = await self.channels.get(task.channel_id)  # the one serving it, after any failover
        provider = provider_for(channel.kind) if channel is not None else None
        if provider is None:
            raise Conflict("this task cannot be cancelled", code="cancel_not_supported")
        if not task.upstream_task_id:
            raise Conflict(f"task {task_id} is still being submitted; retry", code="task_not_submitted")
        try:
            observation = await provider.cancel(UpstreamContext(http=self.http, settings=self.settings), channel, task)
        except Unsupported as exc:
            raise Conflict(str(exc), code="cancel_not_supported") from None
        except UpstreamError as exc:
            raise as_api_error(exc) from exc
        if observation.status is not TaskStatus.SUCCESS:  # cancelled, or cancelling: either way the caller gave up
            observation = dataclasses.replace(observation, status=TaskStatus.FAILURE, fail_reason="canceled",
                                              error=observation.error or "canceled by the caller")
        changed = await apply_observation(self.tasks, self.publisher, self.results, channel, task, observation)
        return changed or await self.tasks.record(task_id) or task
