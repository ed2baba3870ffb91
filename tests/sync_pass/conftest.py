from __future__ import annotations

import secrets

import pytest

from tests.async_flow.conftest import make_client, upstream  # noqa: F401 (shared fixtures)
from tests.harness.api import AdminApi, assert_sound_wallet
from tests.harness.settled import settled_task
from tests.harness.processes import ServiceProcess
from tools import devinfra

TASK_ID_HEADER = "x-custompass-task-id"


@pytest.fixture
async def sync_channel(admin: AdminApi, stack):
    """A fresh custompass_sync channel on the mock upstream, per_call price 10 unless overridden."""
    async def create(**overrides) -> tuple[str, dict]:
        model = overrides.pop("model", f"chat-{secrets.token_hex(3)}")
        return model, await admin.create_channel(**{
            "name": f"sync-{model}", "kind": "custompass_sync", "base_url": stack.upstream_url,
            "api_key": "upstream-secret", "models": [model], "billing": {"mode": "per_call", "price": 10},
            **overrides})
    return create


@pytest.fixture
def settled_call(mongo_db, admin):
    """Waits until the call's task is settled; returns the task and its one consumption log,
    after checking the wallet keeps the money rules."""
    async def wait(response) -> tuple[dict, dict]:
        task_id = response.headers[TASK_ID_HEADER]
        task = await settled_task(mongo_db, task_id)
        logs = await mongo_db.consumption_logs.find({"task_id": task_id}).to_list(None)
        assert len(logs) == 1, logs
        assert task["mode"] == "sync" and logs[0]["mode"] == "sync"
        await assert_sound_wallet(mongo_db, task["user_id"])
        return task, logs[0]
    return wait


@pytest.fixture(scope="module")
def second_upstream(stack):
    """Another mock upstream process, for a second channel serving the same model."""
    port = devinfra.free_port()
    process = ServiceProcess("mock_upstream_b", "tools.mock_upstream", port,
                             {**stack.env, "MOCK_UPSTREAM_PORT": str(port)}, stack.log_dir)
    process.start().wait_ready(path="/_mock/stats")
    yield process.url
    process.kill()
