"""`runninghub` channels: RunningHub's workflow API (https://www.runninghub.cn/runninghub-api-doc).

Every answer is an envelope `{code, msg, data}` (code 0: success). The channel's upstream model is
the `workflowId`; the caller's JSON body goes upstream as it is (`nodeInfoList`, ...), with our
`apiKey` and `webhookUrl`. A task's state is read from `outputs` alone: its files once done,
804/813 while running/queued, 805 when it failed. Usage is `{"seconds": taskCostTime,
"consume_money": consumeMoney}`, so per-usage channels bill it with `usage_field: "seconds"`.
The upstream's cost is `consumeMoney` (in the channel's `upstream_cost_unit`, RunningHub bills
in CNY), or `taskCostTime` x the channel's `upstream_cost_per_second` when it reports no money.
Busy refusals (415 instance full, 421 queue full) are retried with backoff; an empty upstream
wallet (416, 812) fails the task with an error an operator can act on and counts in
`custompass_upstream_wallet_empty_total`. TASK_END webhooks are unsigned: they only say that a
task has news, and the task is then read from the upstream.
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from shared import upstream_cost
from shared.backoff import backoff_s
from shared.channels import Channel
from shared.providers.base import (InvalidBody, Observation, Quote, Submitted, UpstreamContext, Webhook,
                                   WebhookRejected)
from shared.providers.metrics import UPSTREAM_WALLET_EMPTY
from shared.status import TaskStatus
from shared.task_record import Task
from shared.upstream import custompass
from shared.upstream.errors import UpstreamMalformed, UpstreamRefused, UpstreamThrottled

log = logging.getLogger(__name__)

BUSY = {415, 421}
WALLET_EMPTY = {416, 812}
STILL_RUNNING = {804: TaskStatus.IN_PROGRESS, 813: TaskStatus.QUEUED}
FAILED = 805


class RunningHubProvider:
    kind = "runninghub"
    max_batch = 1

    async def quote(self, ctx: UpstreamContext, channel: Channel, model: str, body: bytes,
                    query: str) -> Quote:
        _fields(body)  # a body RunningHub cannot take is refused before any money moves
        return Quote(channel.hold_amount())

    async def submit(self, ctx: UpstreamContext, channel: Channel, model: str, body: bytes,
                     query: str) -> Submitted:
        payload = {**_fields(body), "apiKey": channel.api_key or "", "workflowId": model}
        if ctx.webhook_url:
            payload["webhookUrl"] = ctx.webhook_url
        retries = ctx.settings.upstream_busy_retries
        for attempt in range(retries + 1):
            envelope = await _post(ctx, channel, "/task/openapi/create", payload)
            if _code(envelope) not in BUSY or attempt == retries:
                break
            await asyncio.sleep(backoff_s(ctx.settings.upstream_busy_backoff_s, attempt))
        data = _accepted(channel, envelope)
        if not isinstance(data, dict) or not data.get("taskId"):
            raise UpstreamMalformed("RunningHub's create answer has no data.taskId")
        return Submitted(str(data["taskId"]))

    async def query(self, ctx: UpstreamContext, channel: Channel,
                    tasks: list[Task]) -> dict[str, Observation]:
        (task,) = tasks
        envelope = await _post(ctx, channel, "/task/openapi/outputs", _about(channel, task))
        code, upstream_id = _code(envelope), task.upstream_task_id
        if code in STILL_RUNNING:
            return {task.id: Observation(upstream_id, STILL_RUNNING[code], progress=task.progress)}
        if code == FAILED:
            return {task.id: Observation(upstream_id, TaskStatus.FAILURE, error=_failure(envelope.data))}
        outputs = _accepted(channel, envelope)
        if not isinstance(outputs, list):
            raise UpstreamMalformed("RunningHub's outputs are not a list")
        cost, rejected = _cost(channel, outputs)
        return {task.id: Observation(upstream_id, TaskStatus.SUCCESS, result=outputs, usage=_usage(outputs),
                                         upstream_cost=cost, upstream_cost_rejected=rejected)}

    async def cancel(self, ctx: UpstreamContext, channel: Channel, task: Task) -> Observation:
        _accepted(channel, await _post(ctx, channel, "/task/openapi/cancel", _about(channel, task)))
        return Observation(task.upstream_task_id, TaskStatus.FAILURE, error="canceled by the caller",
                           fail_reason="canceled")

    def read_webhook(self, channel: Channel, headers: dict[str, str], body: bytes,
                     tolerance_s: float) -> Webhook:
        try:
            event = json.loads(body)
        except ValueError:
            raise WebhookRejected("the webhook body is not JSON") from None
        if not isinstance(event, dict) or event.get("event") != "TASK_END" or not event.get("taskId"):
            raise WebhookRejected("not a RunningHub TASK_END event")
        task_id = str(event["taskId"])
        return Webhook(f"TASK_END:{task_id}", task_id)


def _fields(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise InvalidBody("a RunningHub workflow needs a JSON object body (e.g. nodeInfoList)")
    return payload


def _about(channel: Channel, task: Task) -> dict[str, Any]:
    return {"apiKey": channel.api_key or "", "taskId": task.upstream_task_id}


async def _post(ctx: UpstreamContext, channel: Channel, path: str,
                payload: dict[str, Any]) -> custompass.Envelope:
    call = custompass.call_for_channel(channel, None, ctx.settings)  # base URL and timeout
    with custompass.transport_errors(call):
        response = await ctx.http.post(call.base_url + path, json=payload, timeout=call.timeout_s)
    if response.status_code == 429:
        raise UpstreamThrottled("RunningHub is throttling", custompass.retry_after(response))
    return custompass.parse_envelope(response.status_code, response.content)


def _code(envelope: custompass.Envelope) -> int | str:
    try:
        return int(envelope.code)
    except (TypeError, ValueError):
        return envelope.code


def _accepted(channel: Channel, envelope: custompass.Envelope) -> Any:
    """The data of a successful answer; a refusal raises, the empty wallet loudly."""
    code = _code(envelope)
    if code == 0:
        return envelope.data
    if code in WALLET_EMPTY:
        UPSTREAM_WALLET_EMPTY.labels(channel.id).inc()
        log.error("RunningHub account of channel %s has no balance (%s %s): top it up", channel.id, code,
                  envelope.message)
        error = UpstreamRefused("upstream_wallet_empty",
                                f"the upstream account has no balance ({code} {envelope.message})", 503)
    elif code in BUSY:
        error = UpstreamRefused("upstream_busy", f"RunningHub is full ({code} {envelope.message}); retry later", 503)
    else:
        raise UpstreamRefused(envelope.code, envelope.message or "RunningHub refused the request")
    error.blames_channel = True  # the channel cannot serve anything until this changes
    raise error


def _failure(data: Any) -> str:
    reason = data.get("failedReason") if isinstance(data, dict) else None
    if isinstance(reason, dict):
        return str(reason.get("exception_message") or reason.get("exception_type") or "RunningHub task failed")
    return "RunningHub task failed"


def _usage(outputs: list[Any]) -> dict[str, Any] | None:
    first = outputs[0] if outputs and isinstance(outputs[0], dict) else {}
    usage = {name: _number(first.get(field)) for name, field in (("seconds", "taskCostTime"),
                                                                  ("consume_money", "consumeMoney"))}
    usage = {name: value for name, value in usage.items() if value is not None}
    return usage or None


def _cost(channel: Channel, outputs: list[Any]) -> tuple[Any, str | None]:
    first = outputs[0] if outputs and isinstance(outputs[0], dict) else {}
    if first.get("consumeMoney") is not None:
        return upstream_cost.reading(first["consumeMoney"])
    terms = upstream_cost.CostTerms.of(channel)
    return upstream_cost.reading(first.get("taskCostTime"), lambda seconds: upstream_cost.cost_of_seconds(terms, seconds))


def _number(value: Any) -> int | float | None:
    """RunningHub writes figures as strings ("12", "0.05")."""
    for kind in (int, float):
        try:
            return kind(value)
        except (TypeError, ValueError):
            continue
    return None
