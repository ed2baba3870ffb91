"""Upstream precharge pricing and signed completion callbacks."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from services.settlement.callbacks import signature
from tests.async_flow.test_async_flow import settled
from tests.harness.api import eventually


async def test_upstream_precharge_prices_the_hold_then_settles_from_real_usage(async_channel, make_client, admin,
                                                                              mongo_db, upstream):
    model, _ = await async_channel(upstream_precharge=True, billing={"mode": "per_usage", "price": 100})
    client = await make_client(quota=100)
    response = await client.submit(model, {"prompt": "p", "mock": {
        "precharge": True, "precharge_usage": {"prompt_tokens": 100, "completion_tokens": 100},
        "usage": {"prompt_tokens": 30, "completion_tokens": 20}, "polls_before_done": 3}})
    assert response.status_code == 200, response.text
    task_id = response.json()["task_id"]
    assert (await admin.wallet(client.user_id))["held"] == 20  # 200 estimated tokens x 100 / 1000
    submits = (await upstream.get("/_mock/requests", params={"path_contains": f"{model}/submit"})).json()
    assert [r["body"].get("precharge") for r in submits] == [True, None]  # estimate first, then the real submit
    await settled(client, model, task_id, mongo_db)
    log = await mongo_db.consumption_logs.find_one({"task_id": task_id})
    assert (log["hold"], log["quota"], log["refund"]) == (20, 5, 15)


class _Receiver(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers), body))
        self.send_response(200 if len(type(self).received) > 1 else 503)  # the first attempt fails
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def callback_receiver():
    _Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/task", _Receiver.received
    server.shutdown()


async def test_completion_callback_is_signed_and_retried(async_channel, make_client, mongo_db, callback_receiver):
    url, received = callback_receiver
    model, _ = await async_channel()
    client = await make_client(quota=100)
    task_id = (await client.submit(model, {"prompt": "p", "callback_url": url})).json()["task_id"]
    view = await settled(client, model, task_id, mongo_db)

    async def delivered():
        task = await mongo_db.tasks.find_one({"_id": task_id})
        return (task.get("callback") or {}).get("status") == "delivered"
    await eventually(delivered, timeout=30)
    assert len(received) == 2
    headers, body = received[-1]
    receipt = (await client.http.get(f"/pass/{model}/task/{task_id}/receipt")).json()
    assert json.loads(body) == {**view, "receipt": receipt}  # the completed task and its signed receipt
    assert headers["X-CustomPass-Signature"] == signature("test-callback-secret", headers["X-CustomPass-Timestamp"], body)
