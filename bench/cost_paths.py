"""The three paths a task can take, set up on one stack, each as one call a client makes:
- async: `POST /pass/{model}/submit` on a CustomPass async channel in front of the mock upstream,
  which finishes the task `done_after` s later; the poller sees it, settlement settles it;
- sync: `POST /pass/{model}` on a sync pass-through channel, settled after the answer;
- worker: `POST /api/openai` answered by echo WebSocket workers (bench/workers.py) in this process.
Every call is one task, and every task ends settled (voided or captured)."""
from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator

from bench.common import load_client
from bench.workers import echo_worker
from tests.harness.api import AdminApi
from tests.harness.stack import Stack

UPSTREAM_KEY = "upstream-secret"
WORKERS_READY_S = 60.0  # a connection takes milliseconds; far more on a crowded machine
PATHS = ("async", "sync", "worker")


class TaskPaths:
    def __init__(self, stack: Stack, key: str, async_model: str, sync_model: str, group: str,
                 worker_url: str, done_after: float, concurrency: int) -> None:
        self.http = load_client(stack.gateway_url, concurrency, timeout=60, headers={"Authorization": f"Bearer {key}"})
        self.async_model, self.sync_model, self.group = async_model, sync_model, group
        self.worker_url = worker_url
        self.async_body = {"prompt": "bench", "mock": {"done_after_ms": int(done_after * 1000)}}

    async def call(self, path: str, i: int) -> None:
        """One task along `path`; raises when the gateway does not accept it."""
        if path == "async":
            response = await self.http.post(f"/pass/{self.async_model}/submit", json=self.async_body)
        elif path == "sync":
            response = await self.http.post(f"/pass/{self.sync_model}", json={"prompt": "bench", "mock": {
                "usage": {"prompt_tokens": 10, "completion_tokens": 10}}})
        else:
            response = await self.http.post("/api/openai", json={"data": {"i": i}, "group": self.group})
        if response.status_code != 200:
            raise RuntimeError(f"{path}: HTTP {response.status_code}: {response.text[:200]}")

    @contextlib.asynccontextmanager
    async def workers_online(self, count: int) -> AsyncIterator[None]:
        """`count` echo workers connected for the duration (their idle claims are part of the cost),
        every one taken in by the gateway before the first call (else: 503 No worker available)."""
        ready = [asyncio.Event() for _ in range(count)]
        serving = [asyncio.create_task(echo_worker(self.worker_url, event)) for event in ready]
        try:
            await asyncio.wait_for(asyncio.gather(*(event.wait() for event in ready)), WORKERS_READY_S)
            yield
        finally:
            for task in serving:
                task.cancel()
            await asyncio.gather(*serving, return_exceptions=True)

    async def close(self) -> None:
        await self.http.aclose()


async def set_up(stack: Stack, *, poll_interval: float, done_after: float, concurrency: int) -> TaskPaths:
    """The channels, a worker group and its token, and a user with a key that can pay for everything."""
    admin = AdminApi(stack.gateway_url, stack.admin_token)
    try:
        suffix = secrets.token_hex(3)
        async_model, sync_model, group = f"cost-video-{suffix}", f"cost-sync-{suffix}", f"cost-{suffix}"
        await admin.create_channel(name=async_model, kind="custompass_async", base_url=stack.upstream_url,
                                   api_key=UPSTREAM_KEY, models=[f"{async_model}/submit"],
                                   billing={"mode": "per_call", "price": 1}, poll_interval_s=poll_interval)
        await admin.create_channel(name=sync_model, kind="custompass_sync", base_url=stack.upstream_url,
                                   api_key=UPSTREAM_KEY, models=[sync_model], billing={"mode": "per_call", "price": 1})
        await admin.create_channel(name=group, kind="worker", group=group, models=["default"],
                                   billing={"mode": "per_call", "price": 1})
        token = (await admin.http.post("/admin/worker-tokens", json={"group": group})).json()["token"]
        _, key = await admin.user_with_key(quota=10**12)
    finally:
        await admin.close()
    worker_url = stack.gateway_url.replace("http://", "ws://") + f"/ws?group={group}&token={token}"
    return TaskPaths(stack, key, async_model, sync_model, group, worker_url, done_after, concurrency)
