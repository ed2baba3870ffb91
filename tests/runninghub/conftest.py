from __future__ import annotations

import secrets

import httpx
import pytest

from tests.async_flow.conftest import make_client  # noqa: F401 (shared fixture)
from tests.harness.api import AdminApi

UPSTREAM_KEY = "rh-test-key"


@pytest.fixture(scope="session")
def runninghub_process(stack):
    process = stack.start_mock(f"mock_runninghub_{secrets.token_hex(2)}", "tools.mock_runninghub",
                               "MOCK_RUNNINGHUB_PORT", MOCK_RUNNINGHUB_KEY=UPSTREAM_KEY)
    yield process
    process.kill()


@pytest.fixture
async def runninghub(runninghub_process):
    async with httpx.AsyncClient(base_url=runninghub_process.url, timeout=10) as http:
        yield http


@pytest.fixture
async def runninghub_channel(admin: AdminApi, runninghub_process):
    """A runninghub channel on the mock, billed per taskCostTime second: 1 quota a second, 30 held."""
    async def create(**overrides) -> tuple[str, dict]:
        model = overrides.pop("model", f"wf-{secrets.token_hex(3)}")
        fields = {"name": f"runninghub-{model}", "kind": "runninghub", "base_url": runninghub_process.url,
                  "api_key": UPSTREAM_KEY, "models": [model], "model_mapping": {model: "1904136902449209346"},
                  "billing": {"mode": "per_usage", "price": 1000, "precharge": 30, "usage_field": "seconds"},
                  "poll_interval_s": 0.2, **overrides}
        return model, await admin.create_channel(**fields)
    return create
