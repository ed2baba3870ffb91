"""`POST /api/openai`: price the task through the group's `worker` channel, store it, hold its
amount, queue it; async callers get the task at once, sync callers wait for its end. A caller's
webhook (`callback_url`, `callback_events`) gets `start` once the task is queued and `completed`
from settlement, as on the other async paths.

The task's `next_poll_at` is its deadline: the poller fails it with `timeout` then if nothing
else has ended it, so a gateway that dies never strands a task or its hold. A sync caller's own
gateway fails it at the same moment, to answer on time; the compare-and-swap picks one.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pymongo.asynchronous.database import AsyncDatabase

from services.gateway.caller_urls import Webhook, accepted_webhook
from services.gateway.errors import ApiError, InvalidRequest, NotFound
from services.gateway.groups import price_ratio
from services.gateway.idempotency import IdempotencyKeys
from services.gateway.key_policies import KeyPolicies
from services.gateway.routing.selection import worker_channel
from services.gateway.schemas import DispatchRequest
from services.gateway.settings import GatewaySettings
from services.gateway.task_opening import TaskOpener, new_task
from services.gateway.workers.hub import WorkerHub
from services.gateway.workers.queue import API, on_worker, queued_task
from services.gateway.workers.views import failure_message
from shared.channels import Channel, ChannelRepository
from shared.clock import stamp
from shared.ids import new_task_id
from shared.kafka import EventPublisher
from shared.outbound_urls import OutboundUrlPolicy
from shared.status import TaskStatus, to_dispatch_status
from shared.task_events import fail_and_announce
from shared.task_views import pass_view
from shared.task_record import Task
from shared.tasks import TaskStore
from shared.webhook_deliveries import Wanted, WebhookDeliveries, wants

if TYPE_CHECKING:  # deps wires the container: only a type here
    from services.gateway.deps import CallerIdentity

WORKER_KIND = "worker"
# Failures the seed answers with HTTP 500; any other failure is the worker's own error (502).
SEED_500S = {"timeout": "task_timeout", "worker_disconnected": "worker_disconnected"}


def dispatch_error(message: str, code: str, status: int, task_id: str | None = None) -> ApiError:
    """Our `{code, message}` plus the seed's `error` field (and the task, when there is one)."""
    extra = {"error": message, **({"taskId": task_id} if task_id else {})}
    return ApiError(message, code=code, status=status, extra=extra)


@dataclass(frozen=True)
class Submission:
    """The dispatch use case, given what it uses (`Container.submission` names them)."""
    settings: GatewaySettings
    outbound_urls: OutboundUrlPolicy
    channels: ChannelRepository
    policies: KeyPolicies
    opener: TaskOpener
    tasks: TaskStore
    publisher: EventPublisher
    workers: WorkerHub
    db: AsyncDatabase  # idempotency keys and webhook deliveries

    async def submit(self, caller: CallerIdentity, request: DispatchRequest,
                     idempotency_key: str | None = None) -> dict[str, Any]:
        """`idempotency_key` (async only): the same key and request answer the first one's task."""
        hub = self.workers
        if request.data is None and not request.messages:
            raise dispatch_error("Invalid request: data or messages required", "invalid_request", 400)
        timeout_ms = self._timeout_ms(request.timeout)
        webhook = await accepted_webhook(self.outbound_urls, request.callback_url, request.callback_events,
                                         self.settings.callback_url_max_length)
        channel = await self._channel(caller, request.group, request.model)
        admission = await self.policies.admit(caller.key, caller.user, request.model)
        deadline = time.monotonic() + timeout_ms / 1000
        task = self._new_task(caller, channel, request, timeout_ms, webhook)
        keys = IdempotencyKeys(self.db) if idempotency_key and request.run_async else None
        if keys is not None:  # before the workers are looked at: a replay answers whatever they do now
            fingerprint = hashlib.sha256(request.model_dump_json(by_alias=True).encode()).hexdigest()
            earlier = await keys.claim(caller.user_id, idempotency_key, "POST /api/openai", fingerprint, task.id)
            if earlier is not None:
                return await self._earlier(earlier)
        worker = None
        try:
            # Cached per process (workers/admission.py): most admissions send no command.
            if not await hub.admission.workers_online(request.group, hub.connected_here(request.group)):
                raise dispatch_error("No worker available", "no_worker_available", 503)
            if await hub.admission.queue_full(request.group, self.settings.max_queue_length):
                raise dispatch_error("Queue is full", "queue_full", 503)
            worker = hub.reserve(request.group)  # one waits here: the task is stored as its own
            if worker is not None:
                task = on_worker(task, worker.id)
            await self.opener.store_and_hold(task, admission, unfinished_after_s=timeout_ms / 1000)
        except Exception:
            if worker is not None:
                hub.unreserve(worker)
            if keys is not None and await self.tasks.record(task.id) is None:
                await keys.forget(caller.user_id, idempotency_key)  # nothing happened: a retry may try again
            raise
        await hub.dispatch(task, worker)
        if wants(task, "start"):  # recorded before the caller hears of the task
            await WebhookDeliveries(self.db).record(Wanted(task, "start", pass_view(task)))
        if request.run_async:
            return {"taskId": task.id, "status": to_dispatch_status(task.status.value)}
        finished = await hub.waiters.wait(task.id, deadline - time.monotonic())
        if finished is None:
            timed_out = await fail_and_announce(self.tasks, self.publisher, task.id, "timeout", "Task timeout")
            await hub.queue.forget(task.id)  # it may have ended while queued: leave no stale entry
            finished = timed_out or await self.tasks.record(task.id)  # it ended just now: answer that
        assert finished is not None, "a held task is never deleted"
        return self._answer(finished)

    async def _earlier(self, task_id: str) -> dict[str, Any]:
        task = await self.tasks.record(task_id)
        if task is None:
            raise dispatch_error("the first request with this Idempotency-Key is still in progress; retry",
                                 "idempotency_in_progress", 409)
        return {"taskId": task_id, "status": to_dispatch_status(task.status.value)}

    def _timeout_ms(self, asked: int | None) -> int:
        settings = self.settings
        if asked is None:
            return settings.task_timeout_ms
        if not settings.min_task_timeout_ms <= asked <= settings.max_task_timeout_ms:
            raise InvalidRequest(f"timeout must be {settings.min_task_timeout_ms}-{settings.max_task_timeout_ms} ms",
                                 code="invalid_timeout")
        return asked

    async def _channel(self, caller: CallerIdentity, group: str, model: str) -> Channel:
        """The group's enabled worker channel (`routing.selection.worker_channel`), priced for the
        caller's user group. A group whose every channel is cooling down is refused as the other
        paths refuse a model in that state."""
        channels = await self.channels.for_group(group, WORKER_KIND)
        if not channels:
            raise NotFound("Unknown group", code="unknown_group")
        chosen = worker_channel(channels, model, stamp())
        if chosen is None:
            raise dispatch_error(f"every worker channel of group {group} is cooling down after failures; retry later",
                                 "channels_cooling_down", 503)
        return chosen.priced(price_ratio(caller.group))

    def _new_task(self, caller: CallerIdentity, channel: Channel, request: DispatchRequest,
                  timeout_ms: int, webhook: Webhook) -> Task:
        payload = {"model": request.model, "messages": request.messages, "data": request.data}
        body = json.dumps({**payload, "group": request.group, "timeout": timeout_ms, "async": request.run_async})
        task = new_task(new_task_id(), caller, channel, request.model, body.encode(), "", channel.hold_amount(),
                        mode="async" if request.run_async else "sync", callback_url=webhook.url)
        return queued_task(dataclasses.replace(task, **webhook.fields(), api=API, payload=payload,
                                               timeout_ms=timeout_ms, task_lifetime_s=timeout_ms / 1000),
                           request.group)

    @staticmethod
    def _answer(task: Task) -> dict[str, Any]:
        if task.status is TaskStatus.SUCCESS:
            return {"taskId": task.id, "status": "completed", "result": task.result}
        reason = task.fail_reason or ""
        code = SEED_500S.get(reason, "worker_error")
        raise dispatch_error(failure_message(task), code, 500 if reason in SEED_500S else 502, task.id)
