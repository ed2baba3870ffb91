"""Async submission to a CustomPass upstream: price, store, hold, submit (DESIGN.md, flow 1-3).

The task document exists before any money moves, so a crash at any step leaves something the
poller or settlement will finish: a task never submitted fails as never-pollable and its hold
is voided (a void also cancels a hold billing has not placed yet).
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from services.gateway.container import Container
from services.gateway.deps import CallerIdentity
from services.gateway.errors import ApiError, BillingUnavailable, InvalidRequest, NotFound, hold_rejected
from services.gateway.idempotency import IdempotencyKeys
from shared import pricing
from shared.events import TaskSubmitted
from shared.ids import hold_id_for, new_task_id
from shared.status import TaskStatus
from shared.task_events import fail_and_announce
from shared.clock import stamp, stamp_in
from shared.upstream import custompass
from shared.upstream.errors import UpstreamError

ASYNC_KINDS = ("custompass_async",)


class AsyncSubmission:
    def __init__(self, deps: Container) -> None:
        self._deps = deps

    async def submit(self, caller: CallerIdentity, model: str, body: bytes, query: str,
                     idempotency_key: str | None) -> dict[str, Any]:
        deps = self._deps
        channel = await deps.channels.for_model(model, ASYNC_KINDS)
        if channel is None:
            raise NotFound(f"model {model} is not served here", code="model_not_found")
        task_id = new_task_id()
        keys = IdempotencyKeys(deps.db)
        if idempotency_key:
            earlier = await keys.claim(caller.user_id, idempotency_key, _fingerprint(body, query), task_id)
            if earlier is not None:
                return await self._existing_task(earlier)
        try:
            return await self._submit_new(caller, channel, model, task_id, body, query)
        except ApiError:
            if idempotency_key and await deps.tasks.get(task_id) is None:
                await keys.forget(caller.user_id, idempotency_key)  # nothing happened: a retry may try again
            raise

    async def _submit_new(self, caller: CallerIdentity, channel: dict[str, Any], model: str, task_id: str,
                          body: bytes, query: str) -> dict[str, Any]:
        deps = self._deps
        call = custompass.call_for_channel(channel, caller.token, deps.settings)
        upstream_model = model.removesuffix("/submit")
        amount, accepted = await self._price(channel, call, upstream_model, body, query)
        task = _new_task(task_id, caller, channel, model, body, query, amount, deps.settings.task_submit_grace_s)
        await deps.tasks.insert(task)
        try:
            decision = await deps.billing.hold(task["hold_id"], caller.user_id, amount, task_id)
        except BillingUnavailable:
            await fail_and_announce(deps.tasks, deps.publisher, task_id, "billing_timeout")
            raise
        if not decision.placed:
            await deps.tasks.delete(task_id)  # a rejected request leaves no task behind
            raise hold_rejected(decision.reason or "rejected")
        try:
            envelope = accepted or await custompass.submit(deps.http, call, upstream_model, body, query)
        except UpstreamError as exc:
            await fail_and_announce(deps.tasks, deps.publisher, task_id, "upstream_error", f"{exc.code}: {exc.message}")
            raise _as_api_error(exc) from exc
        return await self._mark_submitted(task, channel, envelope.data)

    async def _price(self, channel: dict[str, Any], call: custompass.UpstreamCall, model: str, body: bytes,
                     query: str) -> tuple[int, custompass.Envelope | None]:
        """The hold amount; with upstream precharge the upstream estimates it. An upstream that
        answers the precharge request with a real result has accepted the task already."""
        billing = channel.get("billing") or {}
        if not channel.get("upstream_precharge"):
            return pricing.hold_amount(billing), None
        try:
            flagged = custompass.with_precharge_flag(body)
        except ValueError:
            raise InvalidRequest("this model needs a JSON object body") from None
        try:
            envelope = await custompass.submit(self._deps.http, call, model, flagged, query)
        except UpstreamError as exc:
            raise _as_api_error(exc) from exc
        if envelope.is_precharge:
            return pricing.hold_amount(billing, envelope.usage or {}), None
        return pricing.hold_amount(billing), envelope

    async def _mark_submitted(self, task: dict[str, Any], channel: dict[str, Any], data: dict) -> dict[str, Any]:
        deps = self._deps
        interval = channel.get("poll_interval_s") or deps.settings.custom_pass_poll_interval
        submitted = await deps.tasks.mark_submitted(task["_id"], data["task_id"], stamp_in(interval),
                                                    data.get("progress"))
        if submitted is None:  # failed meanwhile (e.g. a timeout sweep): report what it is now
            return await deps.tasks.get(task["_id"]) or task
        await deps.publisher.publish(TaskSubmitted(
            correlation_id=task["_id"], task_id=task["_id"], user_id=task["user_id"], model=task["model"],
            channel_id=task["channel_id"], upstream_task_id=data["task_id"]))
        return submitted

    async def _existing_task(self, task_id: str) -> dict[str, Any]:
        task = await self._deps.tasks.get(task_id)
        if task is None:
            raise ApiError("the first request with this Idempotency-Key is still in progress; retry",
                           code="idempotency_in_progress", status=409)
        return task


def _new_task(task_id: str, caller: CallerIdentity, channel: dict[str, Any], model: str, body: bytes,
              query: str, amount: int, submit_grace_s: float) -> dict[str, Any]:
    lifetime = channel.get("task_lifetime_s")
    return {
        "_id": task_id, "user_id": caller.user_id, "key_id": caller.key["_id"], "model": model,
        "channel_id": channel["_id"], "channel_kind": channel["kind"], "mode": "async", "api": "pass",
        "status": TaskStatus.NOT_START.value, "progress": "0%",
        "request": {"body": body.decode("utf-8", "replace"), "query": query},
        "callback_url": _callback_url(body),
        "hold_id": hold_id_for(task_id), "hold_amount": amount,
        "billing": dict(channel.get("billing") or {"mode": "free"}),
        "task_lifetime_s": lifetime, "created_at": stamp(), "updated_at": stamp(),
        # If the submit never completes, the poller takes the task up then and fails it.
        "next_poll_at": stamp_in(submit_grace_s),
    }


def _callback_url(body: bytes) -> str | None:
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    url = payload.get("callback_url") if isinstance(payload, dict) else None
    return url if isinstance(url, str) and url.startswith(("http://", "https://")) else None


def _fingerprint(body: bytes, query: str) -> str:
    return hashlib.sha256(body + b"\0" + query.encode()).hexdigest()


def _as_api_error(exc: UpstreamError) -> ApiError:
    """Upstream refusals keep the upstream's own code; transport failures get ours."""
    return ApiError(exc.message, code=exc.code, status=exc.http_status)
