"""`replicate` channels: Replicate's predictions API (https://replicate.com/docs/reference/http).

The channel's upstream model names what runs: `owner/name` (the model's latest version,
`POST /v1/models/{owner}/{name}/predictions`), or a version id / `owner/name:version`
(`POST /v1/predictions` with `version`). The caller's JSON body is the prediction's `input`
(or its `input` field, when it has one). Replicate has no batch status query: one task per query.
Usage is `metrics.predict_time` in seconds, so per-usage channels bill it with
`usage_field: "predict_time"`; the upstream's cost is `predict_time` x the channel's
`upstream_cost_per_second` (Replicate bills by the second of hardware time), when that is set.
"""
from __future__ import annotations

import json
from typing import Any

import httpx

from shared import upstream_cost
from shared.channels import Channel
from shared.providers import standard_webhooks
from shared.providers.base import (InvalidBody, Observation, Quote, Submitted, UpstreamContext, Webhook,
                                   WebhookRejected)
from shared.status import TaskStatus
from shared.task_record import Task
from shared.upstream import custompass
from shared.upstream.errors import (UpstreamHttpError, UpstreamMalformed, UpstreamRefused, UpstreamThrottled)

STATUSES = {"starting": TaskStatus.IN_PROGRESS, "processing": TaskStatus.IN_PROGRESS,
            "succeeded": TaskStatus.SUCCESS, "failed": TaskStatus.FAILURE, "canceled": TaskStatus.FAILURE,
            "aborted": TaskStatus.FAILURE}
# Why a prediction that did not succeed failed, as our tasks record it (each is refunded in full).
FAIL_REASONS = {"failed": "upstream_failed", "canceled": "canceled", "aborted": "aborted"}


class ReplicateProvider:
    kind = "replicate"
    max_batch = 1

    async def quote(self, ctx: UpstreamContext, channel: Channel, model: str, body: bytes,
                    query: str) -> Quote:
        _input(body)  # a body Replicate cannot take is refused before any money moves
        return Quote(channel.hold_amount())

    async def submit(self, ctx: UpstreamContext, channel: Channel, model: str, body: bytes,
                     query: str) -> Submitted:
        payload: dict[str, Any] = {"input": _input(body)}
        if "/" in model and ":" not in model:
            path = f"/v1/models/{model}/predictions"
        else:
            path, payload["version"] = "/v1/predictions", model
        if ctx.webhook_url:
            payload["webhook"] = ctx.webhook_url
            payload["webhook_events_filter"] = ["completed"]
        prediction = await _request(ctx, channel, "POST", path, payload)
        return Submitted(prediction["id"])

    async def query(self, ctx: UpstreamContext, channel: Channel,
                    tasks: list[Task]) -> dict[str, Observation]:
        (task,) = tasks
        prediction = await _request(ctx, channel, "GET", f"/v1/predictions/{task.upstream_task_id}")
        return {task.id: observe(prediction, channel)}

    async def cancel(self, ctx: UpstreamContext, channel: Channel, task: Task) -> Observation:
        prediction = await _request(ctx, channel, "POST", f"/v1/predictions/{task.upstream_task_id}/cancel")
        return observe(prediction, channel)

    def read_webhook(self, channel: Channel, headers: dict[str, str], body: bytes,
                     tolerance_s: float) -> Webhook:
        secret = channel.webhook_secret
        if not secret:
            raise WebhookRejected("the channel has no webhook_secret to check signatures with")
        delivery_id = standard_webhooks.verify(secret, headers, body, tolerance_s)
        try:
            prediction = _prediction(json.loads(body))
        except (ValueError, UpstreamMalformed):
            raise WebhookRejected("the webhook body is not a prediction") from None
        return Webhook(delivery_id, prediction["id"], observe(prediction, channel))


def observe(prediction: dict[str, Any], channel: Channel) -> Observation:
    word = str(prediction.get("status") or "")
    status = STATUSES.get(word, TaskStatus.UNKNOWN)
    metrics = prediction.get("metrics")
    predict_time = metrics.get("predict_time") if isinstance(metrics, dict) else None
    # A figure that is not a number is settled at the held amount (pricing.usage_units).
    usage = {"predict_time": predict_time} if predict_time is not None else None
    error = None
    if status is TaskStatus.FAILURE:
        error = str(prediction.get("error") or f"prediction {word}")
    terms = upstream_cost.CostTerms.of(channel)  # a failed prediction is billed for its time too
    cost, rejected = upstream_cost.reading(predict_time, lambda seconds: upstream_cost.cost_of_seconds(terms, seconds))
    return Observation(upstream_task_id=prediction["id"], status=status, result=prediction.get("output"),
                       usage=usage, error=error, fail_reason=FAIL_REASONS.get(word, "upstream_failed"),
                       upstream_cost=cost, upstream_cost_rejected=rejected)


def _input(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        raise InvalidBody("a Replicate model needs a JSON object body (its input)") from None
    if not isinstance(payload, dict):
        raise InvalidBody("a Replicate model needs a JSON object body (its input)")
    given = payload.get("input", payload)
    if not isinstance(given, dict):
        raise InvalidBody("input must be a JSON object")
    return given


async def _request(ctx: UpstreamContext, channel: Channel, method: str, path: str,
                   payload: dict[str, Any] | None = None) -> dict[str, Any]:
    call = custompass.call_for_channel(channel, None, ctx.settings)  # base URL, Bearer key, timeout
    with custompass.transport_errors(call):
        response = await ctx.http.request(method, call.base_url + path, json=payload, headers=call.headers(),
                                          timeout=call.timeout_s)
    return _prediction(_answer(response))


def _answer(response: httpx.Response) -> Any:
    if response.status_code == 429:
        raise UpstreamThrottled("Replicate is throttling", custompass.retry_after(response))
    try:
        answer = response.json()
    except ValueError:
        if response.status_code >= 400:
            raise UpstreamHttpError(response.status_code) from None
        raise UpstreamMalformed("Replicate's answer is not JSON") from None
    if response.status_code >= 400:
        detail = answer.get("detail") if isinstance(answer, dict) else None
        # Invalid input (400/422) is the caller's to fix; anything else is ours.
        status = 400 if response.status_code in (400, 422) else 502
        raise UpstreamRefused(f"replicate_{response.status_code}",
                              str(detail or f"Replicate answered HTTP {response.status_code}"), status,
                              response.status_code)
    return answer


def _prediction(answer: Any) -> dict[str, Any]:
    if not isinstance(answer, dict) or not isinstance(answer.get("id"), str) or not answer["id"]:
        raise UpstreamMalformed("Replicate's answer is not a prediction")
    return answer
