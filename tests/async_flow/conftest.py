from __future__ import annotations

import secrets
from dataclasses import dataclass

import httpx
import pytest

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
