"""An error no handler takes (services/gateway/internal_errors.py) is an ordinary 500
`internal_error`: counted in the request metrics, the client's keep-alive connection kept, and a
submit it ended before its task was stored gives its Idempotency-Key back.

The gateway here is the real one with faults of its own (tests/gateway/faulty_gateway.py),
joined to the shared stack: the stack's billing answers its holds."""
from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.async_flow.conftest import async_channel, make_client  # noqa: F401 (shared fixtures)
from tests.conftest import ARTIFACTS
from tests.gateway.faulty_gateway import FAIL_ONCE, FAIL_PATH
from tests.harness.processes import ServiceProcess
from tests.harness.stack import Stack
from tools import devinfra


@pytest.fixture(scope="module")
def faulty_gateway(stack: Stack) -> Iterator[str]:
    port = devinfra.free_port()
    process = ServiceProcess("faulty_gateway", "tests.gateway.faulty_gateway", port,
                             {**stack.env, "GATEWAY_PORT": str(port)}, ARTIFACTS)
    try:
        process.start().wait_ready(timeout=120)
        yield process.url
    finally:
        process.kill()


def requests_counted(metrics_text: str, route: str, status: str) -> float:
    for family in text_string_to_metric_families(metrics_text):
        if family.name == "custompass_gateway_requests":
            return sum(s.value for s in family.samples if s.name.endswith("_total")
                       and s.labels == {"route": route, "method": "GET", "status": status})
    return 0.0


def test_an_unhandled_error_is_a_counted_500_and_the_connection_stays_open(faulty_gateway: str) -> None:
    connects: list[str] = []

    def trace(event: str, _info: dict) -> None:
        if event == "connection.connect_tcp.complete":
            connects.append(event)

    with httpx.Client(base_url=faulty_gateway, timeout=30) as http:
        def get(path: str) -> httpx.Response:
            return http.get(path, extensions={"trace": trace})

        before = requests_counted(get("/metrics").text, FAIL_PATH, "500")
        failed = get(FAIL_PATH)
        assert failed.status_code == 500, failed.text
        assert failed.json() == {"code": "internal_error", "message": "internal error"}
        assert failed.headers["x-content-type-options"] == "nosniff"  # the outer middlewares saw it
        assert failed.headers.get("connection", "").lower() != "close"
        after = get("/metrics")  # the same connection: the 500 did not end it
        assert after.status_code == 200
        assert requests_counted(after.text, FAIL_PATH, "500") == before + 1
    assert len(connects) == 1, connects


async def test_a_submit_that_failed_before_its_task_was_stored_gives_its_key_back(
        faulty_gateway: str, async_channel, make_client, admin) -> None:
    model, _ = await async_channel()
    client = await make_client(quota=100, base_url=faulty_gateway)
    body, headers = {"prompt": FAIL_ONCE}, {"Idempotency-Key": "order-500"}
    failed = await client.submit(model, body, headers=headers)
    assert failed.status_code == 500, failed.text
    assert failed.json()["code"] == "internal_error"
    retried = await client.submit(model, body, headers=headers)  # the same key and body: a new try
    assert retried.status_code == 200, retried.text
    again = await client.submit(model, body, headers=headers)
    assert again.status_code == 200 and again.json()["task_id"] == retried.json()["task_id"]
    wallet = await admin.wallet(client.user_id)
    assert wallet["held"] + wallet["used"] == 10  # one task held, once
