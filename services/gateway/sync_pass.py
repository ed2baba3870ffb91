"""Sync pass-through to a CustomPass upstream: `POST /pass/{model}` on a `custompass_sync` channel.

The channel's kind names its provider (`shared.providers.registry.sync_provider_for`, e.g.
shared/providers/custompass_sync.py), which prices the hold (the channel's precharge, or the
upstream's precharge answer) and makes the call: the caller's body and query string go upstream
unchanged with both credentials (the channel's key, and what its `caller_token` choice says about
the caller: shared/upstream/caller_token.py). Answer with the upstream's status and body, then
finish the task through the same compare-and-swap as every other path and announce it:
settlement captures from the real usage (refunds the excess, charges the shortfall) or, when the
upstream failed, voids the hold. A call is a task of mode `sync`, so it settles and logs
exactly like an async task. A streamed answer is relayed as it arrives (`stream_relay`).

Channels are tried in selection order (`routing`); one to blame for a failure before any byte
reached the client hands the call to the next (the hold keeps the first channel's price).
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from fastapi import Response
from fastapi.responses import StreamingResponse

from services.gateway.background import BackgroundWork
from services.gateway.caller_urls import accepted_callback_url
from services.gateway.errors import ApiError
from services.gateway.key_policies import KeyPolicies
from services.gateway.routing.failover import sync_call_moves_on, try_channels
from services.gateway.routing.health import ChannelHealth
from services.gateway.routing.selection import upstream_model
from services.gateway.settings import GatewaySettings
from services.gateway.stream_relay import StreamRelay
from services.gateway.task_opening import TaskOpener, as_api_error, channels_for, new_task, quote_refusals
from shared import upstream_cost
from shared.channels import Channel, ChannelRepository
from shared.clock import stamp_in
from shared.ids import new_task_id
from shared.kafka import EventPublisher
from shared.outbound_urls import OutboundUrlPolicy
from shared.providers.base import SyncAnswer, SyncProvider, SyncQuote, UpstreamContext
from shared.providers.observations import cost_fields, count_cost_rejection
from shared.providers.registry import sync_kinds, sync_provider_for
from shared.status import TaskStatus
from shared.task_events import announce, fail_and_announce
from shared.task_record import Task
from shared.tasks import TaskStore
from shared.upstream.errors import UpstreamError
from shared.upstream.sse import UsageWatcher

if TYPE_CHECKING:  # deps wires the container: only a type here
    from services.gateway.deps import CallerIdentity

# Names the call's task in every answer, so a caller can find its consumption log.
TASK_ID_HEADER = "X-CustomPass-Task-Id"


@dataclass(frozen=True)
class SyncPass:
    """The sync call use case, given what it uses (`Container.sync_pass` names them)."""
    settings: GatewaySettings
    outbound_urls: OutboundUrlPolicy
    channels: ChannelRepository
    policies: KeyPolicies
    opener: TaskOpener
    tasks: TaskStore
    publisher: EventPublisher
    http: httpx.AsyncClient
    background: BackgroundWork  # the call and its stream outlive the request that started them

    async def call(self, caller: CallerIdentity, model: str, body: bytes, query: str) -> Response:
        # The call runs in a task of its own: were this request's handler cancelled mid-call,
        # the call would still finish its task (and so settle) once the upstream answered.
        work = self.background.start(self._call(caller, model, body, query), name=f"sync {model}")
        return await asyncio.shield(work)

    async def _call(self, caller: CallerIdentity, model: str, body: bytes, query: str) -> Response:
        callback_url = await accepted_callback_url(self.outbound_urls, body, self.settings.callback_url_max_length)
        admission = await self.policies.admit(caller.key, caller.user, model)
        ctx = UpstreamContext(http=self.http, settings=self.settings,
                              caller=caller.upstream(self.settings.user_ref_secret))
        channels = await channels_for(self.channels, caller, model, sync_kinds())
        first = channels[0]
        quote = await self._quote(ctx, first, model, body, query)
        longest_s = sum(_provider(channel).timeout_s(ctx, channel) for channel in channels)
        task = new_task(new_task_id(), caller, first, model, body, query, quote.amount, mode="sync",
                        callback_url=callback_url)
        try:
            await self.opener.store_and_hold(task, admission,
                                             unfinished_after_s=longest_s + self.settings.task_submit_grace_s)
        except ApiError:
            if quote.answer is not None:
                await quote.answer.response.aclose()
            raise
        if quote.answer is None:
            channel, answer = await self._forward(ctx, task, channels, model, body, query)
        else:  # the precharge request got the real result
            channel, answer = first, quote.answer
        if answer.envelope is None:
            return await self._relay(task, channel, answer)
        await self._succeeded(task, channel, answer.envelope.usage, None)
        response = answer.response
        return Response(response.content, status_code=response.status_code,
                        media_type=response.headers.get("content-type"), headers={TASK_ID_HEADER: task.id})

    async def _quote(self, ctx: UpstreamContext, channel: Channel, model: str, body: bytes,
                     query: str) -> SyncQuote:
        """The hold, priced by the channel's provider."""
        with quote_refusals():
            return await _provider(channel).quote(ctx, channel, upstream_model(channel, model), body, query)

    async def _forward(self, ctx: UpstreamContext, task: Task, channels: list[Channel], model: str,
                       body: bytes, query: str) -> tuple[Channel, SyncAnswer]:
        """Tries the channels in selection order until one answers, failing over when the
        channel is to blame (`routing.failover.sync_call_moves_on`)."""
        async def call_on(channel: Channel) -> SyncAnswer:
            return await _provider(channel).call(ctx, channel, upstream_model(channel, model), body, query)
        try:
            served = await try_channels(channels, call_on, sync_call_moves_on,
                                        ChannelHealth(self.channels, self.settings))
        except UpstreamError as exc:
            raise await self._failed(task, exc) from exc
        await self.opener.follow_failover(task.id, served, model)
        return served.channel, served.result

    async def _relay(self, task: Task, channel: Channel, answer: SyncAnswer) -> StreamingResponse:
        deadline_s = float(task.task_lifetime_s or self.settings.custom_pass_task_max_lifetime)
        await self.tasks.postpone(task.id, stamp_in(deadline_s + self.settings.task_submit_grace_s))

        async def finish(watcher: UsageWatcher, error: UpstreamError | None) -> None:
            if error is not None and watcher.usage is None:
                await self._failed(task, error)
            else:  # a stream that reported its usage was served, even if it broke off after that
                await self._succeeded(task, channel, watcher.usage, watcher.usage_error)

        relay = StreamRelay(answer.response, answer.call, deadline_s, finish)
        return StreamingResponse(relay.start(self.background, name=f"stream {task.id}"),
                                 status_code=answer.response.status_code,
                                 media_type=answer.response.headers.get("content-type"),
                                 headers={"Cache-Control": "no-cache", TASK_ID_HEADER: task.id})

    async def _succeeded(self, task: Task, channel: Channel, usage: dict[str, Any] | None,
                         usage_error: str | None) -> None:
        """`channel`: the one that answered; its `upstream_cost_unit` counts the usage's `cost`."""
        reported = usage.get("cost") if isinstance(usage, dict) else None
        fields: dict[str, Any] = {"usage": usage, **cost_fields(channel, *upstream_cost.reading(reported))}
        if usage_error:
            fields["usage_error"] = usage_error  # settled at the held amount, see pricing.final_cost
        finished = await self.tasks.finish(task.id, TaskStatus.SUCCESS, **fields)
        if finished is not None:
            previous, done = finished
            count_cost_rejection(channel, done.upstream_cost_error)
            # Announced after the answer, not before it: the finish is stored, so a process that
            # dies before publishing leaves the task to settlement's sweep (shared/task_events.py).
            self.background.start(announce(self.publisher, done, previous), name=f"announce {task.id}")

    async def _failed(self, task: Task, exc: UpstreamError) -> ApiError:
        """Fails the task (settlement refunds its hold in full); returns the client's answer."""
        await fail_and_announce(self.tasks, self.publisher, task.id, "upstream_error",
                                f"{exc.code}: {exc.message}")
        error = as_api_error(exc)
        error.headers = {TASK_ID_HEADER: task.id}
        return error


def _provider(channel: Channel) -> SyncProvider:
    provider = sync_provider_for(channel.kind)
    assert provider is not None, "channels_for only finds channels of registered sync kinds"
    return provider

