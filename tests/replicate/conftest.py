from __future__ import annotations

import secrets
from dataclasses import dataclass

import httpx
import pytest

from tests.async_flow.conftest import async_channel, make_client  # noqa: F401 (shared fixtures)
from tests.harness.api import AdminApi
from tests.harness.processes import ServiceProcess

UPSTREAM_KEY = "r8_test_key"


@dataclass
class MockReplicate:
    process: ServiceProcess
    http: httpx.AsyncClient

    @property
    def url(self) -> str:
        return self.process.url

    async def requests(self, path_contains: str) -> list[dict]:
        return (await self.http.get("/_mock/requests", params={"path_contains": path_contains})).json()

    async def reads(self, prediction_id: str) -> list[dict]:
        return (await self.http.get("/_mock/reads", params={"prediction_id": prediction_id})).json()

    async def deliveries(self, prediction_id: str) -> list[dict]:
        return (await self.http.get("/_mock/deliveries", params={"prediction_id": prediction_id})).json()


@pytest.fixture(scope="session")
def replicate_process(stack):
    process = stack.start_mock(f"mock_replicate_{secrets.token_hex(2)}", "tools.mock_replicate",
                               "MOCK_REPLICATE_PORT", MOCK_REPLICATE_KEY=UPSTREAM_KEY)
    yield process
    process.kill()


@pytest.fixture
async def replicate(replicate_process):
    async with httpx.AsyncClient(base_url=replicate_process.url, timeout=10,
                                 headers={"Authorization": f"Bearer {UPSTREAM_KEY}"}) as http:
        yield MockReplicate(replicate_process, http)


@pytest.fixture
async def replicate_channel(admin: AdminApi, replicate: MockReplicate):
    """A replicate channel on the mock, billed per predict_time second: 2 quota a second, 20 held."""
    secret = (await replicate.http.get("/v1/webhooks/default/secret")).json()["key"]

    async def create(**overrides) -> tuple[str, dict]:
        model = overrides.pop("model", f"img-{secrets.token_hex(3)}")
        fields = {"name": f"replicate-{model}", "kind": "replicate", "base_url": replicate.url,
                  "api_key": UPSTREAM_KEY, "webhook_secret": secret, "models": [model],
                  "model_mapping": {model: "black-forest-labs/flux-schnell"},
                  "billing": {"mode": "per_usage", "price": 2000, "precharge": 20, "usage_field": "predict_time"},
                  "poll_interval_s": 3600, **overrides}
        return model, await admin.create_channel(**fields)
    return create
