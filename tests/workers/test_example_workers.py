"""The example workers (examples/worker-python.py, examples/worker-node.js), run as a user runs
them, complete tasks and come back after their gateway restarts (a gateway process of this test's
own, so the restart touches no other test). `make test` installs node and the Node example's `ws`."""
from __future__ import annotations

import subprocess
import sys

import pytest

from tests.harness.api import eventually
from tests.harness.processes import ROOT, ServiceProcess
from tests.workers.conftest import START_TIMEOUT_S
from tools import devinfra


@pytest.fixture
def own_gateway(dispatch_stack):
    port = devinfra.free_port()
    process = ServiceProcess("gateway_example", "services.gateway", port,
                             {**dispatch_stack.env, "GATEWAY_PORT": str(port)}, dispatch_stack.log_dir)
    process.start().wait_ready(timeout=START_TIMEOUT_S)
    yield process
    process.kill()


@pytest.fixture
def example_worker(dispatch_stack):
    started: list[subprocess.Popen] = []

    def start(command: list[str], group: str, token: str, gateway_url: str) -> None:
        env = {"CUSTOMPASS_WS_URL": gateway_url.replace("http://", "ws://") + "/ws",
               "CUSTOMPASS_WORKER_GROUP": group, "CUSTOMPASS_WORKER_TOKEN": token, "CUSTOMPASS_HEARTBEAT_S": "0.2",
               "CUSTOMPASS_RECONNECT_MAX_S": "0.5"}
        log = open(dispatch_stack.log_dir / f"example-worker-{group}.log", "wb")
        started.append(subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT))
    yield start
    for process in started:
        process.kill()
        process.wait()


EXAMPLES = {"python": [sys.executable, str(ROOT / "examples" / "worker-python.py")],
            "node": ["node", str(ROOT / "examples" / "worker-node.js")]}


@pytest.mark.parametrize("language", EXAMPLES)
async def test_the_example_worker_completes_tasks_and_reconnects(
        language, worker_group, example_worker, dispatch_client, own_gateway):
    group, token = await worker_group(billing={"mode": "free"})
    example_worker(EXAMPLES[language], group, token, own_gateway.url)
    _, client = await dispatch_client()
    body = {"data": {"prompt": "a cat"}, "group": group, "timeout": 5000}

    async def answered():
        response = await client.post("/api/openai", json=body)
        return response.json() if response.status_code == 200 else None
    answer = await eventually(answered, timeout=60)  # 503 No worker available until it has connected
    assert answer["status"] == "completed"
    assert answer["result"] == {"success": True, "data": {"prompt": "a cat"}, "messages": None, "model": "default"}

    own_gateway.kill()
    own_gateway.start().wait_ready(timeout=START_TIMEOUT_S)
    assert (await eventually(answered, timeout=90))["status"] == "completed"
    # The token went in the Authorization header: the URLs the gateway saw (and logged) have none.
    logged = "".join((own_gateway.log_dir / f"{own_gateway.name}.{n}.log").read_text() for n in (1, 2))
    assert f"/ws?group={group}" in logged and "token=" not in logged and token not in logged
