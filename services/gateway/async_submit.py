"""Async submission to any provider (`shared.providers`): price, store, hold, submit (docs/architecture.md, flow 1-3).
Opening the task (channel, store, hold) is shared with the sync path, see `task_opening`."""
from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from pymongo.asynchronous.database import AsyncDatabase

from services.gateway.background import BackgroundWork
from services.gateway.caller_urls import Webhook, webhook_in_body
from services.gateway.errors import ApiError, InvalidRequest
from services.gateway.idempotency import IdempotencyKeys
from services.gateway.key_policies import Admission, KeyPolicies
from services.gateway.routing.failover import async_submit_moves_on, try_channels
from services.gateway.routing.health import ChannelHealth
from services.gateway.routing.selection import upstream_model
from services.gateway.settings import GatewaySettings
from services.gateway.task_opening import TaskOpener, as_api_error, channels_for, new_task, quote_refusals
from services.gateway.webhook_urls import webhook_url
from shared.channels import SUBMIT_SUFFIX, Channel, ChannelRepository
from shared.clock import stamp_in
from shared.events import TaskSubmitted
from shared.ids import new_task_id
from shared.kafka import EventPublisher
from shared.outbound_urls import OutboundUrlPolicy
from shared.providers.base import InvalidBody, Quote, StatusProvider, Submitted, UpstreamContext
from shared.providers.registry import async_kinds, provider_for
from shared.task_events import fail_and_announce, publish_stored
from shared.task_views import pass_view
from shared.task_record import Task
from shared.tasks import TaskStore
from shared.tracing import note_task
from shared.webhook_deliveries import Wanted, WebhookDeliveries, wants
from shared.upstream.errors import UpstreamError

if TYPE_CHECKING:  # deps wires the container: only a type here
    from services.gateway.deps import CallerIdentity


@dataclass(frozen=True)
class AsyncSubmission:
    """The async submit use case, given what it uses (`Container.async_submission` names them)."""
    settings: GatewaySettings
    outbound_urls: OutboundUrlPolicy
    channels: ChannelRepository
    policies: KeyPolicies
    opener: TaskOpener
    tasks: TaskStore
    publisher: EventPublisher
    http: httpx.AsyncClient
    db: AsyncDatabase  # idempotency keys and webhook deliveries
    background: BackgroundWork  # the `task.submitted` event, sent after the caller has its answer

    async def submit(self, caller: CallerIdentity, model: str, body: bytes, query: str,
                     idempotency_key: str | None, fields: dict[str, Any] | None = None, *,
                     webhook: Webhook | None = None, scope: str | None = None) -> Task:
        """The task as it is once submitted (or as a repeated `Idempotency-Key` finds it).

        `fields`: what another API family built on this path adds to the task (its `api`, its own
        fields); `webhook`: its caller's webhook, accepted already (else the body's, as `/pass`
        takes it); `scope`: the route an `Idempotency-Key` belongs to (else this model's submit)."""
        if webhook is None:
            webhook = await webhook_in_body(self.outbound_urls, body, self.settings.callback_url_max_length)
        fields = {**(fields or {}), **webhook.fields()}
        callback_url = webhook.url
        admission = await self.policies.admit(caller.key, caller.user, model)
        channels = await channels_for(self.channels, caller, model, async_kinds())
        task_id = new_task_id()
        note_task(task_id)
        keys = IdempotencyKeys(self.db)
        if idempotency_key:
            earlier = await keys.claim(caller.user_id, idempotency_key, scope or f"POST /pass/{_bare(model)}/submit",
                                       _fingerprint(body, query), task_id)
            if earlier is not None:
                return await self._existing_task(earlier)
        try:
            return await self._submit_new(caller, admission, channels, model, task_id, body, query, fields,
                                          callback_url)
        except Exception:  # refused (4xx), unavailable (503) or an error of ours (500) alike
            if idempotency_key and await self.tasks.record(task_id) is None:
                await keys.forget(caller.user_id, idempotency_key)  # nothing happened: a retry may try again
            raise

    async def _submit_new(self, caller: CallerIdentity, admission: Admission, channels: list[Channel],
                          model: str, task_id: str, body: bytes, query: str,
                          fields: dict[str, Any] | None, callback_url: str | None) -> Task:
        channel = channels[0]
        quote = await self._quote(channel, caller, task_id, upstream_model(channel, _bare(model)), body, query)
        task = dataclasses.replace(new_task(task_id, caller, channel, model, body, query, quote.amount,
                                            mode="async", callback_url=callback_url), **(fields or {}))
        await self.opener.store_and_hold(task, admission, unfinished_after_s=self.settings.task_submit_grace_s)
        accepted = quote.accepted
        if accepted is None:
            accepted, channel = await self._submit_upstream(task, channels, caller, body, query)
        return await self._mark_submitted(task, channel, accepted)

    async def _submit_upstream(self, task: Task, channels: list[Channel], caller: CallerIdentity,
                               body: bytes, query: str) -> tuple[Submitted, Channel]:
        """Submits on the channels in selection order, failing over only when no connection was
        made (`routing.failover.async_submit_moves_on`)."""
        async def submit_on(channel: Channel) -> Submitted:
            return await _provider(channel).submit(self._context(caller, channel, task.id), channel,
                                                   upstream_model(channel, _bare(task.model)), body, query)
        try:
            served = await try_channels(channels, submit_on, async_submit_moves_on,
                                        ChannelHealth(self.channels, self.settings))
        except UpstreamError as exc:
            await fail_and_announce(self.tasks, self.publisher, task.id, "upstream_error",
                                    f"{exc.code}: {exc.message}")
            raise as_api_error(exc) from exc
        except InvalidBody as exc:  # providers check bodies when quoting; this is the last line
            await fail_and_announce(self.tasks, self.publisher, task.id, "invalid_request", str(exc))
            raise InvalidRequest(str(exc)) from None
        await self.opener.follow_failover(task.id, served, _bare(task.model))
        return served.result, served.channel

    async def _quote(self, channel: Channel, caller: CallerIdentity, task_id: str, model: str, body: bytes,
                     query: str) -> Quote:
        with quote_refusals():
            return await _provider(channel).quote(self._context(caller, channel, task_id), channel, model, body, query)

    def _context(self, caller: CallerIdentity, channel: Channel, task_id: str) -> UpstreamContext:
        return UpstreamContext(http=self.http, settings=self.settings,
                               caller=caller.upstream(self.settings.user_ref_secret),
                               webhook_url=webhook_url(self.settings, channel, task_id))

    async def _mark_submitted(self, task: Task, channel: Channel, accepted: Submitted) -> Task:
        interval = channel.poll_interval(self.settings.custom_pass_poll_interval)
        submitted = await self.tasks.mark_submitted(task.id, accepted.upstream_task_id, stamp_in(interval),
                                                    accepted.progress)
        if submitted is None:  # failed meanwhile (e.g. a timeout sweep): report what it is now
            return await self.tasks.record(task.id) or task
        if wants(submitted, "start"):  # recorded before the caller hears of the task
            await WebhookDeliveries(self.db).record(Wanted(submitted, "start", pass_view(submitted)))
        # Not awaited: the event only wakes the poller early (it finds the task at its first poll
        # time anyway), so the caller does not wait for the broker's acknowledgement.
        self.background.start(publish_stored(self.publisher, TaskSubmitted(
            correlation_id=task.id, task_id=task.id, user_id=task.user_id, model=task.model,
            channel_id=task.channel_id, upstream_task_id=accepted.upstream_task_id)), name=f"announce {task.id}")
        return submitted

    async def _existing_task(self, task_id: str) -> Task:
        task = await self.tasks.record(task_id)
        if task is None:
            raise ApiError("the first request with this Idempotency-Key is still in progress; retry",
                           code="idempotency_in_progress", status=409)
        return task


def _provider(channel: Channel) -> StatusProvider:
    provider = provider_for(channel.kind)
    assert provider is not None, "channels_for only finds channels of registered kinds"
    return provider


def _fingerprint(body: bytes, query: str) -> str:
    return hashlib.sha256(body + b"\0" + query.encode()).hexdigest()


def _bare(model: str) -> str:
    return model.removesuffix(SUBMIT_SUFFIX)
