"""Webhook deliveries to callers' `callback_url`s (`shared.webhook_deliveries`): signed the
Standard Webhooks way, retried with backoff and jitter, at most CALLBACK_ATTEMPTS times.

Each POST carries the task as the caller's fetch shows it, with `webhook-id` (the same on every
attempt), `webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256 of
"id.timestamp.body">` under WEBHOOK_SIGNING_SECRET, plus `X-CustomPass-Event` (start, progress,
completed) and, as before, `X-CustomPass-Timestamp` / `X-CustomPass-Signature` under
CALLBACK_SIGNING_SECRET. A `completed` delivery also carries the task's signed receipt
(`receipt`, as `GET .../task/{id}/receipt` answers it) when receipts are signed here.

The URL was judged when the task was accepted; the outbound client judges the address again as
it connects (`shared.outbound_urls`), so a name that now resolves inside (DNS rebinding) is
never posted to: the delivery is recorded `refused`, without further attempts. Redirects are not
followed (a 3xx is not a delivery)."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from typing import Any

import httpx

from services.settlement import metrics
from shared.backoff import backoff_s
from shared.clock import stamp, stamp_in
from shared.outbound_urls import OutboundUrlRefused
from shared.task_receipts import TaskReceipts
from shared.task_views import pass_view
from shared.tasks import TaskStore
from shared.webhook_deliveries import WebhookDeliveries

log = logging.getLogger(__name__)

CLAIM_LIMIT = 50


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-CustomPass-Signature` callbacks carried before Standard Webhooks; still sent."""
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def standard_signature(key: bytes, message_id: str, timestamp: str, body: bytes) -> str:
    signed = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(signed).decode()


class Callbacks:
    def __init__(self, tasks: TaskStore, deliveries: WebhookDeliveries, outbound: httpx.AsyncClient, *,
                 legacy_secret: str, signing_key: bytes, attempts: int, timeout_s: float, retry_base_s: float,
                 retry_cap_s: float, receipts: TaskReceipts | None = None) -> None:
        """`outbound`: `shared.outbound_urls.outbound_client`; `receipts`: None when no receipt
        signing key is set (completed deliveries then carry no receipt)."""
        self._tasks, self._deliveries, self._http = tasks, deliveries, outbound
        self._legacy_secret, self._key = legacy_secret, signing_key
        self._attempts, self._timeout_s = attempts, timeout_s
        self._retry_base_s, self._retry_cap_s = retry_base_s, retry_cap_s
        self._receipts = receipts

    async def send_due(self) -> str | None:
        """Attempts every due delivery once; answers when the next is due (a `DueLoop` run)."""
        lease_s = self._timeout_s + 10
        due = await self._deliveries.claim_due(CLAIM_LIMIT, lease_s, secrets.token_hex(8))
        await asyncio.gather(*(self._attempt(delivery) for delivery in due.leased))
        return due.next_due_at()

    async def _attempt(self, delivery: dict[str, Any]) -> None:
        body = await self._body(delivery)
        if body is None:
            return
        content = json.dumps(body, default=str, separators=(",", ":")).encode()
        timestamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", "webhook-id": delivery["_id"], "webhook-timestamp": timestamp,
                   "webhook-signature": standard_signature(self._key, delivery["_id"], timestamp, content),
                   "X-CustomPass-Event": delivery["event"], "X-CustomPass-Timestamp": timestamp,
                   "X-CustomPass-Signature": signature(self._legacy_secret, timestamp, content)}
        attempt: dict[str, Any] = {"at": stamp()}
        try:
            response = await self._http.post(delivery["url"], content=content, headers=headers,
                                             timeout=self._timeout_s)
            attempt["status_code"] = response.status_code
            state = "delivered" if response.status_code < 300 else "pending"
        except OutboundUrlRefused as refused:
            attempt["error"] = f"refused: the URL {refused.reason}"
            state = "refused"
        except httpx.HTTPError as exc:
            attempt["error"] = type(exc).__name__
            state = "pending"
        made = len(delivery.get("attempts", [])) + 1
        if state == "pending" and made >= self._attempts:
            state = "failed"
        next_at = stamp_in(backoff_s(self._retry_base_s, made - 1, self._retry_cap_s)) if state == "pending" else None
        await self._deliveries.attempted(delivery, attempt, state, next_at)
        if delivery["event"] == "completed":  # the task's own record, as before deliveries existed
            await self._tasks.tasks.update_one({"_id": delivery["task_id"]},
                                               {"$set": {"callback": {"status": state, "attempts": made}}})
        if state != "pending":
            metrics.CALLBACKS.labels(state).inc()
        if state in ("failed", "refused"):
            log.warning("webhook delivery %s", state, extra={"task_id": delivery["task_id"], "delivery": delivery["_id"]})

    async def _body(self, delivery: dict[str, Any]) -> dict[str, Any] | None:
        """The delivery's body, rendered once from the stored task when it was recorded without one,
        so every attempt sends the same bytes' content."""
        if delivery.get("body") is not None:
            return delivery["body"]
        task = await self._tasks.record(delivery["task_id"])
        if task is None:
            await self._deliveries.attempted(delivery, {"at": stamp(), "error": "task gone"}, "failed", None)
            return None
        body = pass_view(task)
        if delivery["event"] == "completed" and self._receipts is not None:
            # Recorded once the hold ended (`settle`), so the receipt is ready; None only for a task without one.
            body["receipt"] = await self._receipts.signed(task)
        await self._deliveries.keep_body(delivery["_id"], body)
        return body
