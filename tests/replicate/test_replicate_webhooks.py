"""Replicate webhooks: only authentic, fresh deliveries count, each counts once, and a webhook
and a poll that see the same completion settle it once."""
from __future__ import annotations

import json
import time

import httpx

from shared.clock import parse
from tests.harness.api import eventually
from tests.harness.settled import assert_one_log, settled_task
from tools.mock_replicate.app import signed_headers


async def test_webhook_first_then_poll_settles_once(replicate_channel, make_client, admin, mongo_db, replicate):
    """The poller asks while the prediction runs; Replicate answers it slowly, and by the time the
    poll hears `succeeded`, the webhook has finished the task: the poll changes nothing."""
    model, _ = await replicate_channel(poll_interval_s=0.2)
    client = await make_client(quota=100)
    # The poll must start before the webhook (at run_ms) finishes the task, and answer after it: a
    # run of 1.2 s leaves a loaded machine's poller time to claim the task (its first poll is due
    # at 0.2 s), a slow answer of 2.5 s lets the webhook's finish come first.
    task_id = (await client.submit(model, {"mock": {"run_ms": 1200, "get_delay_ms": 2500}})).json()["task_id"]
    task = await settled_task(mongo_db, task_id)
    prediction_id = task["upstream_task_id"]
    (delivery,) = await replicate.deliveries(prediction_id)
    read = (await eventually(lambda: replicate.reads(prediction_id), timeout=15))[0]
    # the poll heard `succeeded` only after the task had finished: the webhook finished it
    assert delivery["status"] == 200 and read["status"] == "succeeded"
    assert read["at"] > parse(task["finished_at"]).timestamp()
    await eventually(lambda: _released(mongo_db, task_id))  # the poll's answer has been handled
    await assert_one_log(mongo_db, task_id, "SUCCESS", 5)
    assert (await admin.wallet(client.user_id))["used"] == 5


async def _released(mongo_db, task_id: str) -> bool:
    return (await mongo_db.tasks.find_one({"_id": task_id})).get("poll_lease_until") == 0.0


async def test_poll_first_then_webhook_settles_once(replicate_channel, make_client, admin, mongo_db, replicate):
    model, _ = await replicate_channel(poll_interval_s=0.2)
    client = await make_client(quota=100)
    task_id = (await client.submit(model, {"mock": {"run_ms": 100, "webhook_delay_ms": 1500}})).json()["task_id"]
    task = await settled_task(mongo_db, task_id)
    (delivery,) = await eventually(lambda: replicate.deliveries(task["upstream_task_id"]), timeout=15)
    first_success = [r for r in await replicate.reads(task["upstream_task_id"]) if r["status"] == "succeeded"][0]
    assert delivery["status"] == 200 and first_success["at"] < delivery["at"]
    finished_at = task["finished_at"]
    assert (await mongo_db.tasks.find_one({"_id": task_id}))["finished_at"] == finished_at
    await assert_one_log(mongo_db, task_id, "SUCCESS", 5)
    assert (await admin.wallet(client.user_id))["used"] == 5


async def test_replayed_delivery_is_taken_once(replicate_channel, make_client, admin, mongo_db, replicate, stack):
    model, channel = await replicate_channel()
    client = await make_client(quota=100)
    task_id = (await client.submit(model, {"mock": {"webhook_copies": 3}})).json()["task_id"]
    task = await settled_task(mongo_db, task_id)
    deliveries = await eventually(lambda: _all(replicate.deliveries(task["upstream_task_id"]), 3))
    assert {d["webhook_id"] for d in deliveries} == {deliveries[0]["webhook_id"]}
    assert await mongo_db.webhook_receipts.count_documents({"task_id": task_id}) == 1
    await assert_one_log(mongo_db, task_id, "SUCCESS", 5)
    assert (await admin.wallet(client.user_id))["used"] == 5


async def _all(deliveries, count: int):
    found = await deliveries
    return found if len(found) == count else None


async def test_unsigned_forged_and_stale_webhooks_are_rejected(replicate_channel, make_client, mongo_db, replicate,
                                                               stack):
    model, channel = await replicate_channel()
    client = await make_client(quota=100)
    task_id = (await client.submit(model, {"mock": {"run_ms": 600_000}})).json()["task_id"]
    task = await mongo_db.tasks.find_one({"_id": task_id})
    secret = (await replicate.http.get("/v1/webhooks/default/secret")).json()["key"]
    body = json.dumps({"id": task["upstream_task_id"], "status": "succeeded", "output": ["x"],
                       "metrics": {"predict_time": 0.1}}).encode()
    url = f"{stack.gateway_url}/webhooks/replicate/{channel['id']}?task_id={task_id}"
    forged = signed_headers("whsec_" + "QUJD" * 8, "msg_forged", body)
    stale = signed_headers(secret, "msg_stale", body) | {"webhook-timestamp": str(int(time.time()) - 3600)}
    async with httpx.AsyncClient(timeout=10) as http:
        for headers in ({"content-type": "application/json"}, forged, stale):
            answer = await http.post(url, content=body, headers=headers)
            assert answer.status_code == 401 and answer.json()["code"] == "invalid_webhook", answer.text
        other_task = await http.post(f"{stack.gateway_url}/webhooks/replicate/{channel['id']}?task_id=task_nope",
                                     content=body, headers=signed_headers(secret, "msg_other", body))
        assert other_task.status_code == 404
    assert (await mongo_db.tasks.find_one({"_id": task_id}))["status"] in ("SUBMITTED", "IN_PROGRESS")
    # the same body, signed right, is believed
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.post(url, content=body, headers=signed_headers(secret, "msg_good", body))
    assert answer.status_code == 200, answer.text
    assert (await settled_task(mongo_db, task_id))["status"] == "SUCCESS"
