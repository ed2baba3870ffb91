"""`custompass_async` channels: the CustomPass upstream protocol (shared/upstream/custompass.py)
behind the provider seam. Its status words are configurable per channel; it has no cancel and
no webhooks."""
from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

from shared import upstream_cost
from shared.channels import Channel
from shared.providers.base import Observation, Quote, Submitted, Unsupported, UpstreamContext, Webhook
from shared.providers.custompass_precharge import precharge_hold
from shared.status import TaskStatus, UpstreamStatusWords
from shared.task_record import Task
from shared.upstream import custompass
from shared.upstream.errors import UpstreamMalformed


class CustomPassProvider:
    kind = "custompass_async"
    max_batch = None

    async def quote(self, ctx: UpstreamContext, channel: Channel, model: str, body: bytes,
                    query: str) -> Quote:
        """With upstream precharge the upstream estimates the hold (`custompass_precharge`), and
        an answer that is not a precharge answer means the upstream accepted the task already."""
        async def ask(request: bytes) -> tuple[custompass.Envelope, custompass.Envelope]:
            answer = await custompass.submit(ctx.http, _call(ctx, channel), model, request, query)
            return answer, answer
        amount, accepted = await precharge_hold(channel, body, ask)
        return Quote(amount, _submitted(accepted) if accepted is not None else None)

    async def submit(self, ctx: UpstreamContext, channel: Channel, model: str, body: bytes,
                     query: str) -> Submitted:
        return _submitted(await custompass.submit(ctx.http, _call(ctx, channel), model, body, query))

    async def query(self, ctx: UpstreamContext, channel: Channel,
                    tasks: list[Task]) -> dict[str, Observation]:
        """One request per upstream model in the batch (the query path names the model, and a
        channel may serve several)."""
        by_model: dict[str, list[str]] = defaultdict(list)
        for task in tasks:
            by_model[task.upstream_model or task.model.removesuffix("/submit")].append(task.upstream_task_id)
        call = _call(ctx, channel)
        answers = await asyncio.gather(*(custompass.query(ctx.http, call, model, ids) for model, ids in by_model.items()))
        words = _status_words(channel, ctx)
        by_upstream_id = {str(item["task_id"]): item for items in answers for item in items}
        return {task.id: _observation(item, words.map(item.get("status")), task)
                for task in tasks if (item := by_upstream_id.get(task.upstream_task_id)) is not None}

    async def cancel(self, ctx: UpstreamContext, channel: Channel, task: Task) -> Observation:
        raise Unsupported("the CustomPass upstream protocol has no cancel")

    def read_webhook(self, channel: Channel, headers: dict[str, str], body: bytes,
                     tolerance_s: float) -> Webhook:
        raise Unsupported("the CustomPass upstream protocol has no webhooks")


def _call(ctx: UpstreamContext, channel: Channel) -> custompass.UpstreamCall:
    return custompass.call_for_channel(channel, ctx.caller, ctx.settings)


def _submitted(envelope: custompass.Envelope) -> Submitted:
    return Submitted(envelope.data["task_id"], envelope.data.get("progress"))


def _status_words(channel: Channel, ctx: UpstreamContext) -> UpstreamStatusWords:
    """Per-channel words > environment (CUSTOM_PASS_STATUS_*) > defaults."""
    own = channel.status_words or {}
    s = ctx.settings
    return UpstreamStatusWords(success=own.get("success") or s.custom_pass_status_success,
                               failed=own.get("failed") or s.custom_pass_status_failed,
                               processing=own.get("processing") or s.custom_pass_status_processing,
                               queued=own.get("queued") or s.custom_pass_status_queued)


def _observation(item: dict[str, Any], status: TaskStatus, task: Task) -> Observation:
    usage, usage_error = None, None
    if item.get("usage") is not None:
        try:
            usage = custompass.validate_usage(item["usage"])
        except UpstreamMalformed as exc:
            usage_error = exc.message
    error = str(item.get("error") or "upstream reported failure") if status is TaskStatus.FAILURE else None
    # usage.cost is read on its own: a token count that does not add up says nothing of the cost.
    raw_usage = item.get("usage")
    cost, rejected = upstream_cost.reading(raw_usage.get("cost") if isinstance(raw_usage, dict) else None)
    return Observation(upstream_task_id=task.upstream_task_id, status=status,
                       progress=item.get("progress") or task.progress, result=item.get("result"),
                       usage=usage, usage_error=usage_error, error=error,
                       upstream_cost=cost, upstream_cost_rejected=rejected)
