"""Webhooks with an events filter (`callback_events`), signed the Standard Webhooks way and
checked here by the `standardwebhooks` package (PyPI), retried under one `webhook-id`, their
attempts visible to the caller and the operator (`shared.webhook_deliveries`)."""
from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest
from standardwebhooks import Webhook

from tests.async_flow.conftest import IMAGE_URL, complete_next_task
from tests.async_flow.test_async_flow import settled
from tests.harness.api import eventually
from tests.harness.loopback_servers import on_both_loopbacks
from tests.harness.stack import TEST_ENV


class _Receiver(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        first_of_its_id = sum(1 for h, _ in type(self).received if h["webhook-id"] == self.headers["webhook-id"]) == 1
        self.send_response(503 if first_of_its_id else 200)  # every delivery's first attempt fails
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list]]:
    _Receiver.received = []
    with on_both_loopbacks(_Receiver) as bases:
        yield f"{bases['127.0.0.1']}/hooks", _Receiver.received


def verified(received: list) -> list[dict]:
    """Each request's body once standardwebhooks accepts its signature (it raises otherwise)."""
    hook = Webhook(TEST_ENV["WEBHOOK_SIGNING_SECRET"])
    return [hook.verify(body, headers) for headers, body in received]


async def test_a_filtered_webhook_is_signed_retried_and_visible(async_channel, make_client, mongo_db, receiver,
                                                                admin):
    url, received = receiver
    model, _ = await async_channel()
    client = await make_client(quota=100)
    answer = await client.submit(model, {"prompt": "p", "callback_url": url, "callback_events": ["completed", "start"],
                                         "mock": {"polls_before_done": 4}})
    assert answer.status_code == 200, answer.text
    task_id = answer.json()["task_id"]
    view = await settled(client, model, task_id, mongo_db)
    path = f"/pass/{model}/task/{task_id}/webhooks"

    async def both_delivered():
        deliveries = (await client.http.get(path)).json()["data"]
        return deliveries if [d["state"] for d in deliveries] == ["delivered", "delivered"] else None
    deliveries = await eventually(both_delivered, timeout=30)
    assert [d["event"] for d in deliveries] == ["start", "completed"]  # no progress: not asked for
    assert all([a.get("status_code") for a in d["attempts"]] == [503, 200] for d in deliveries), deliveries
    bodies = verified(received)
    assert [h["x-custompass-event"] for h, _ in received] == ["start", "start", "completed", "completed"]
    assert [h["webhook-id"] for h, _ in received][::2] == [h["webhook-id"] for h, _ in received][1::2]  # same id
    assert bodies[0]["task_id"] == task_id and bodies[0]["status"] == "processing"
    receipt = await client.http.get(f"/pass/{model}/task/{task_id}/receipt")
    assert bodies[-1] == {**view, "receipt": receipt.json()}  # the completed task and its signed receipt
    operator = await admin.http.get("/admin/webhook-deliveries", params={"task_id": task_id})
    assert operator.status_code == 200 and len(operator.json()["data"]) == 2
    other = await make_client(quota=100)
    assert (await other.http.get(path)).status_code == 404


async def test_progress_webhooks_follow_the_task(async_channel, make_client, mongo_db, receiver):
    url, received = receiver
    model, _ = await async_channel()
    client = await make_client(quota=100)
    task_id = (await client.submit(model, {"prompt": "p", "callback_url": url, "callback_events": ["progress"],
                                           "mock": {"polls_before_done": 4}})).json()["task_id"]
    await settled(client, model, task_id, mongo_db)

    async def some_delivered():
        task = await mongo_db.webhook_deliveries.find({"task_id": task_id}).to_list(None)
        return task if task and all(d["state"] == "delivered" for d in task) else None
    deliveries = await eventually(some_delivered, timeout=30)
    assert {d["event"] for d in deliveries} == {"progress"}  # neither start nor completed
    bodies = verified(received)
    assert all(b["task_id"] == task_id and b["status"] == "processing" for b in bodies)
    assert {json.dumps(b, sort_keys=True) for b in bodies} == {json.dumps(d["body"], sort_keys=True)
                                                              for d in deliveries}


async def test_bad_callback_events_are_refused_before_any_task(async_channel, make_client, mongo_db, receiver):
    url, _ = receiver
    model, _ = await async_channel()
    client = await make_client(quota=100)
    for body in ({"callback_url": url, "callback_events": ["finished"]}, {"callback_url": url, "callback_events": []},
                 {"callback_url": url, "callback_events": "completed"}, {"callback_events": ["completed"]}):
        answer = await client.submit(model, {"prompt": "p", **body})
        assert answer.status_code == 400 and answer.json()["code"] == "invalid_callback_events", (body, answer.text)
    assert await mongo_db.tasks.count_documents({"user_id": client.user_id}) == 0


async def delivered(client, path: str, count: int) -> list[dict]:
    """The caller's view of the task's deliveries once `count` of them are delivered."""
    async def all_delivered():
        deliveries = (await client.http.get(path)).json()["data"]
        return deliveries if [d["state"] for d in deliveries] == ["delivered"] * count else None
    return await eventually(all_delivered, timeout=30)


async def test_a_typed_task_takes_a_filtered_webhook(typed_task, make_client, mongo_db, receiver):
    url, received = receiver
    name = await typed_task({"polls_before_done": 3})
    client = await make_client(quota=100)
    body = {"type": name, "inputImageUrl": IMAGE_URL, "callback_url": url, "callback_events": ["start", "completed"]}
    created = await client.http.post("/api/task/create", json=body, headers={"Idempotency-Key": "typed-hook"})
    assert created.status_code == 200, created.text
    task_id = created.json()["data"]["taskId"]
    replay = await client.http.post("/api/task/create", json=body, headers={"Idempotency-Key": "typed-hook"})
    assert replay.json()["data"]["taskId"] == task_id  # the key names the first task: one task, one hold
    deliveries = await delivered(client, f"/api/task/{task_id}/webhooks", 2)
    assert [d["event"] for d in deliveries] == ["start", "completed"]
    bodies = {h["x-custompass-event"]: b for (h, _), b in zip(received, verified(received))}
    assert sorted(h["x-custompass-event"] for h, _ in received) == ["completed", "completed", "start", "start"]
    assert bodies["start"]["task_id"] == bodies["completed"]["task_id"] == task_id
    assert bodies["completed"]["status"] == "completed" and "receipt" in bodies["completed"]
    stored = await mongo_db.tasks.find_one({"_id": task_id})
    assert "callback_url" not in stored["request"]["body"]  # the webhook is never sent upstream
    assert await mongo_db.tasks.count_documents({"user_id": client.user_id}) == 1
    other = await make_client(quota=100)
    assert (await other.http.get(f"/api/task/{task_id}/webhooks")).status_code == 404


async def test_an_async_dispatch_takes_a_filtered_webhook(ready_worker, make_client, receiver):
    url, received = receiver
    group, worker = await ready_worker()
    client = await make_client(quota=100)
    answer = await client.http.post("/api/openai", json={"data": {"n": 1}, "group": group, "async": True,
                                                         "callback_url": url, "callback_events": ["completed"]})
    assert answer.status_code == 200, answer.text
    task_id = await complete_next_task(worker, {"url": "https://x/1.png"})
    deliveries = await delivered(client, f"/api/task/{task_id}/webhooks", 1)
    assert [d["event"] for d in deliveries] == ["completed"]  # no start: not asked for
    body = verified(received)[-1]
    assert body["task_id"] == task_id and body["result"] == {"url": "https://x/1.png"}, body


async def test_bad_webhooks_are_refused_on_the_task_api_and_dispatch(typed_task, make_client, mongo_db, receiver):
    url, _ = receiver
    name = await typed_task()
    client = await make_client(quota=100)
    for hook in ({"callback_url": url, "callback_events": ["finished"]}, {"callback_events": ["completed"]},
                 {"callback_url": "http://10.0.0.1/hook"}):
        typed = await client.http.post("/api/task/create", json={"type": name, "inputImageUrl": IMAGE_URL, **hook})
        assert typed.status_code == 400 and typed.json()["code"] == 4001, (hook, typed.text)
        dispatched = await client.http.post("/api/openai", json={"data": {}, "async": True, **hook})
        assert dispatched.status_code == 400, (hook, dispatched.text)
        assert dispatched.json()["code"] in ("invalid_callback_events", "invalid_callback_url"), dispatched.text
    assert await mongo_db.tasks.count_documents({"user_id": client.user_id}) == 0

