"""Task callbacks: POST the final task (seed 000 shape) to the submitter's `callback_url`,
signed with HMAC-SHA256, retried with backoff, in the background so settlement never waits.

The URL was judged when the task was accepted; the outbound client judges the address again as
it connects (`shared.outbound_urls`), so a name that now resolves inside (DNS rebinding) is
never posted to: the callback is recorded `refused`, without further attempts. Redirects are not
followed (a 3xx is not a delivery).

Attempts live in memory: a settlement process that dies mid-retry drops the remaining attempts;
money is never affected."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time

import httpx

from services.settlement import metrics
from shared.outbound_urls import OutboundUrlRefused
from shared.task_views import pass_view
from shared.tasks import TaskStore

log = logging.getLogger(__name__)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class Callbacks:
    def __init__(self, tasks: TaskStore, outbound: httpx.AsyncClient, secret: str, attempts: int, timeout_s: float):
        """`outbound`: `shared.outbound_urls.outbound_client`."""
        self._tasks, self._http, self._secret = tasks, outbound, secret
        self._attempts, self._timeout_s = attempts, timeout_s
        self._running: set[asyncio.Task] = set()

    def schedule(self, task_id: str) -> None:
        job = asyncio.create_task(self._deliver(task_id))
        self._running.add(job)
        job.add_done_callback(self._running.discard)

    async def _deliver(self, task_id: str) -> None:
        task = await self._tasks.get(task_id)
        if task is None or (task.get("callback") or {}).get("status") == "delivered":
            return
        body = json.dumps(pass_view(task), default=str).encode()
        for attempt in range(1, self._attempts + 1):
            timestamp = str(int(time.time()))
            headers = {"Content-Type": "application/json", "X-CustomPass-Timestamp": timestamp,
                       "X-CustomPass-Signature": signature(self._secret, timestamp, body)}
            try:
                response = await self._http.post(task["callback_url"], content=body, headers=headers,
                                                 timeout=self._timeout_s)
                if response.status_code < 300:
                    await self._record(task_id, "delivered", attempt)
                    metrics.CALLBACKS.labels("delivered").inc()
                    return
            except httpx.HTTPError:
                pass
            except OutboundUrlRefused as refused:
                await self._record(task_id, "refused", attempt)
                metrics.CALLBACKS.labels("refused").inc()
                log.warning("callback refused: its URL %s", refused.reason, extra={"task_id": task_id})
                return
            await asyncio.sleep(min(0.5 * 2 ** (attempt - 1), 30))
        await self._record(task_id, "failed", self._attempts)
        metrics.CALLBACKS.labels("failed").inc()
        log.warning("callback gave up", extra={"task_id": task_id})

    async def _record(self, task_id: str, status: str, attempts: int) -> None:
        await self._tasks.tasks.update_one({"_id": task_id},
                                           {"$set": {"callback": {"status": status, "attempts": attempts}}})

    async def close(self) -> None:
        for job in list(self._running):
            job.cancel()
