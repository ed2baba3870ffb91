"""Sync pass-through to a CustomPass upstream: `POST /pass/{model}` on a `custompass_sync` channel.

Hold first (the channel's precharge, or the upstream's precharge answer), forward the caller's
body and query string unchanged with both credentials (the channel's key, and what its
`caller_token` choice says about the caller: shared/upstream/caller_token.py), answer with the upstream's status and
body, then finish the task through the same compare-and-swap as every other path and announce
it: settlement captures from the real usage (refunds the excess, charges the shortfall) or, when
the upstream failed, voids the hold. A call is a task of mode `sync`, so it settles and logs
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
from services.gateway.task_opening import TaskOpener, as_api_error, channels_for, new_task, precharge_request
from shared import upstream_cost
from shared.channels import Channel, ChannelRepository
from shared.clock import stamp_in
from shared.ids import new_task_id
from shared.kafka import EventPublisher
from shared.outbound_urls import OutboundUrlPolicy
from shared.providers.observations import cost_fields, count_cost_rejection
from shared.status import TaskStatus
from shared.task_events import announce, fail_and_announce
from shared.task_record import Task
from shared.tasks import TaskStore
from shared.upstream import custompass
from shared.upstream.custompass import hold_for_precharge_answer
from shared.upstream.errors import UpstreamError
from shared.upstream.sse import UsageWatcher, is_event_stream

if TYPE_CHECKING:  # deps wires the container: only a type here
    from services.gateway.deps import CallerIdentity

SYNC_KINDS = ("custompass_sync",)
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
        upstream_caller = caller.upstream(self.settings.user_ref_secret)
        channels = await channels_for(self.channels, caller, model, SYNC_KINDS)
        calls = {channel.id: custompass.call_for_channel(channel, upstream_caller, self.settings)
                 for channel in channels}
        first, first_call = channels[0], calls[channels[0].id]
        amount, answer = await self._price(first, first_call, upstream_model(first, model), body, query)
        task = new_task(new_task_id(), caller, first, model, body, query, amount, mode="sync",
                        callback_url=callback_url)
        try:
            await self.opener.store_and_hold(
                task, admission,
                unfinished_after_s=sum(c.timeout_s for c in calls.values()) + self.settings.task_submit_grace_s)
        except ApiError:
            if answer is not None:
                await answer.aclose()
            raise
        if answer is None:
            channel, call, answer, envelope = await self._forward(task, channels, calls, model, body, query)
        else:  # the precharge request got the real result
            channel, call = first, first_call
            try:
                envelope = await _judge(answer, call)
            except UpstreamError as exc:
                raise await self._failed(task, exc) from exc
        if envelope is None:
            return await self._relay(task, channel, call, answer)
        await self._succeeded(task, channel, envelope.usage, None)
        return Response(answer.content, status_code=answer.status_code, media_type=answer.headers.get("content-type"),
                        headers={TASK_ID_HEADER: task.id})

    async def _forward(self, task: Task, channels: list[Channel],
                       calls: dict[str, custompass.UpstreamCall], model: str, body: bytes, query: str,
                       ) -> tuple[Channel, custompass.UpstreamCall, httpx.Response,
                                  custompass.Envelope | None]:
        """Tries the channels in selection order until one answers, failing over when the
        channel is to blame (`routing.failover.sync_call_moves_on`); `calls`: each channel's, by id."""
        async def call_on(channel: Channel) -> tuple[httpx.Response, custompass.Envelope | None]:
            call = calls[channel.id]
            answer = await custompass.open_answer(self.http, call, upstream_model(channel, model), body, query)
            return answer, await _judge(answer, call)
        try:
            served = await try_channels(channels, call_on, sync_call_moves_on,
                                        ChannelHealth(self.channels, self.settings))
        except UpstreamError as exc:
            raise await self._failed(task, exc) from exc
        await self.opener.follow_failover(task.id, served, model)
        answer, envelope = served.result
        return served.channel, calls[served.channel.id], answer, envelope

    async def _price(self, channel: Channel, call: custompass.UpstreamCall, model: str, body: bytes,
                     query: str) -> tuple[int, httpx.Response | None]:
        """The hold amount, and the upstream's answer when the precharge request got the real
        result instead of a precharge answer (a streamed answer always is the real result)."""
        if not channel.upstream_precharge:
            return channel.hold_amount(), None
        try:
            answer = await custompass.open_answer(self.http, call, model, precharge_request(body), query)
            envelope = await _judge(answer, call)
        except UpstreamError as exc:
            raise as_api_error(exc) from exc  # no task and no money yet: just the refusal
        if envelope is None:
            return channel.hold_amount(), answer
        amount, result = hold_for_precharge_answer(channel, envelope)
        return amount, answer if result is not None else None

    async def _relay(self, task: Task, channel: Channel, call: custompass.UpstreamCall,
                     answer: httpx.Response) -> StreamingResponse:
        deadline_s = float(task.task_lifetime_s or self.settings.custom_pass_task_max_lifetime)
        await self.tasks.postpone(task.id, stamp_in(deadline_s + self.settings.task_submit_grace_s))

        async def finish(watcher: UsageWatcher, error: UpstreamError | None) -> None:
            if error is not None and watcher.usage is None:
                await self._failed(task, error)
            else:  # a stream that reported its usage was served, even if it broke off after that
                await self._succeeded(task, channel, watcher.usage, watcher.usage_error)

        relay = StreamRelay(answer, call, deadline_s, finish)
        return StreamingResponse(relay.start(self.background, name=f"stream {task.id}"),
                                 status_code=answer.status_code, media_type=answer.headers.get("content-type"),
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


async def _judge(answer: httpx.Response, call: custompass.UpstreamCall) -> custompass.Envelope | None:
    """A whole answer's accepted envelope (its body read, and kept on the response); None for a
    stream, which is relayed unread."""
    if answer.status_code < 400 and is_event_stream(answer.headers.get("content-type")):
        return None
    return custompass.accepted(answer.status_code, await custompass.read_answer(answer, call))

