from __future__ import annotations

import asyncio
import json
import secrets
from contextlib import AsyncExitStack
from dataclasses import dataclass

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.harness.api import AdminApi


@dataclass
class Client:
    """A user of the gateway: their id, API key and an HTTP client sending that key."""
    user_id: str
    key: str
    http: httpx.AsyncClient

    async def submit(self, model: str, body: dict, **kwargs) -> httpx.Response:
        return await self.http.post(f"/pass/{model}/submit", json=body, **kwargs)

    async def fetch(self, model: str, task_id: str) -> httpx.Response:
        return await self.http.get(f"/pass/{model}/task/{task_id}/fetch")


@pytest.fixture
async def async_channel(admin: AdminApi, stack):
    """A fresh custompass_async channel on the mock upstream, per_call price 10, fast polling."""
    async def create(**overrides) -> tuple[str, dict]:
        model = overrides.pop("model", f"video-{secrets.token_hex(3)}")
        fields = {"name": f"mock-{model}-{secrets.token_hex(3)}", "kind": "custompass_async", "base_url": stack.upstream_url,
                  "api_key": "upstream-secret", "models": [f"{model}/submit"],
                  "billing": {"mode": "per_call", "price": 10}, "poll_interval_s": 0.2, **overrides}
        return model, await admin.create_channel(**fields)
    return create


@pytest.fixture
async def make_client(admin: AdminApi, stack):
    clients: list[httpx.AsyncClient] = []

    async def create(quota: int = 100, base_url: str | None = None, **fields) -> Client:
        user_id, key = await admin.user_with_key(quota=quota, **fields)
        http = httpx.AsyncClient(base_url=base_url or stack.gateway_url,
                                 headers={"Authorization": f"Bearer {key}"}, timeout=30)
        clients.append(http)
        return Client(user_id, key, http)

    yield create
    for http in clients:
        await http.aclose()


@pytest.fixture
async def upstream(stack):
    async with httpx.AsyncClient(base_url=stack.upstream_url, timeout=10) as http:
        yield http


IMAGE_URL = "http://127.0.0.1:9/input.png"  # passes the test stack's outbound-URL policy; never fetched


@pytest.fixture
async def typed_task(admin: AdminApi, stack, upstream):
    """A fresh Task API type on its own custompass_async channel (per_call 10), the mock upstream
    playing `scenario` for its model (a typed task's body carries no `"mock"` field)."""
    async def create(scenario: dict | None = None) -> str:
        name = f"t_{secrets.token_hex(4)}"
        model = f"typed-{name}"
        await admin.create_channel(name=f"mock-{model}", kind="custompass_async", base_url=stack.upstream_url,
                                   api_key="upstream-secret", models=[f"{model}/submit"],
                                   billing={"mode": "per_call", "price": 10}, poll_interval_s=0.2)
        (await upstream.put(f"/_mock/scenarios/{model}", json=scenario or {})).raise_for_status()
        created = await admin.http.post("/admin/task-types", json={"type": name, "model": model})
        assert created.status_code == 201, created.text
        return name
    return create


@pytest.fixture
async def ready_worker(admin: AdminApi, stack):
    """A fresh worker group (a worker channel pricing it per_call 10) and one ready worker of it
    on the stack's gateway, a real WebSocket: `(group, socket)`."""
    async with AsyncExitStack() as sockets:
        async def connected() -> tuple[str, ClientConnection]:
            group = f"g-{secrets.token_hex(4)}"
            await admin.create_channel(name=f"worker-{group}", kind="worker", group=group, models=["default"],
                                       billing={"mode": "per_call", "price": 10})
            token = (await admin.http.post("/admin/worker-tokens", json={"group": group})).json()["token"]
            socket = await sockets.enter_async_context(connect(
                stack.gateway_url.replace("http://", "ws://") + f"/ws?group={group}",
                additional_headers={"Authorization": f"Bearer {token}"}))
            assert json.loads(await asyncio.wait_for(socket.recv(), 10))["type"] == "connected"
            await socket.send(json.dumps({"type": "ready"}))
            return group, socket
        yield connected


async def complete_next_task(socket: ClientConnection, result: dict) -> str:
    """The worker takes its next task and completes it with `result`; returns the task's id."""
    task = json.loads(await asyncio.wait_for(socket.recv(), 15))
    await socket.send(json.dumps({"type": "task_complete", "taskId": task["taskId"], "result": result, "duration": 5}))
    return task["taskId"]
