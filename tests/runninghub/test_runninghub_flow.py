"""RunningHub channels through all four services, the real broker and database, and the mock
RunningHub over HTTP: queued/running codes, cost fields, busy retries, an empty upstream wallet,
TASK_END webhooks."""
from __future__ import annotations

import httpx

from tests.harness.api import assert_sound_wallet, eventually
from tests.harness.settled import assert_one_log, settled_task

NODES = [{"nodeId": "6", "fieldName": "text", "fieldValue": "a cat"}]


async def test_polled_through_queued_and_running_then_billed_by_task_cost_time(runninghub_channel, make_client,
                                                                                admin, mongo_db, runninghub):
    model, channel = await runninghub_channel()
    client = await make_client(quota=100)
    response = await client.submit(model, {"nodeInfoList": NODES,
                                           "mock": {"queue_ms": 1500, "run_ms": 3000, "webhook_copies": 0}})
    assert response.status_code == 200, response.text
    task_id = response.json()["task_id"]
    seen = set()

    async def watched():
        task = await mongo_db.tasks.find_one({"_id": task_id})
        seen.add(task["status"])
        return task.get("settled")
    await eventually(watched, timeout=30, interval=0.05)
    task = await mongo_db.tasks.find_one({"_id": task_id})
    assert {"QUEUED", "IN_PROGRESS"} <= seen and task["status"] == "SUCCESS"
    (create,) = [r["body"] for r in (await runninghub.get("/_mock/requests", params={"path_contains": "create"})).json()
                 if r["body"].get("webhookUrl", "").endswith(task_id)]
    assert (create["apiKey"], create["workflowId"], create["nodeInfoList"]) == ("rh-test-key", "1904136902449209346",
                                                                                NODES)
    assert create["webhookUrl"].endswith(f"/webhooks/runninghub/{channel['id']}?task_id={task_id}")
    assert task["usage"] == {"seconds": 12, "consume_money": 0.05}
    assert task["result"][0]["fileUrl"].endswith(f"/files/{task['upstream_task_id']}.png")
    # taskCostTime 12 s x 1,000 quota per 1,000 s = 12; the rest of the 30 held comes back
    assert await admin.wallet(client.user_id) == {"available": 88, "held": 0, "used": 12, "credited": 100, "debt": 0}
    await assert_one_log(mongo_db, task_id, "SUCCESS", 12)
    await assert_sound_wallet(mongo_db, client.user_id)


async def test_failed_task_refunds_with_the_upstream_reason(runninghub_channel, make_client, admin, mongo_db):
    model, _ = await runninghub_channel()
    client = await make_client(quota=100)
    task_id = (await client.submit(model, {"mock": {"outcome": "failed", "webhook_copies": 0}})).json()["task_id"]
    task = await settled_task(mongo_db, task_id)
    assert (task["status"], task["error"]) == ("FAILURE", "CUDA out of memory")
    await assert_one_log(mongo_db, task_id, "FAILURE", 0)
    assert (await admin.wallet(client.user_id))["available"] == 100


async def test_busy_upstream_is_retried_not_failed(runninghub_channel, make_client, mongo_db, runninghub):
    model, _ = await runninghub_channel()
    client = await make_client(quota=100)
    response = await client.submit(model, {"mock": {"busy": {"key": model, "times": 2}, "webhook_copies": 0}})
    assert response.status_code == 200, response.text
    creates = [r for r in (await runninghub.get("/_mock/requests", params={"path_contains": "create"})).json()
               if (r["body"].get("mock") or {}).get("busy", {}).get("key") == model]
    assert len(creates) == 3 and creates[2]["at"] - creates[0]["at"] >= 0.35  # two backoffs
    assert (await settled_task(mongo_db, response.json()["task_id"]))["status"] == "SUCCESS"


async def test_empty_upstream_wallet_fails_loudly_and_refunds(runninghub_channel, make_client, admin, mongo_db,
                                                              stack):
    model, channel = await runninghub_channel()
    client = await make_client(quota=100)
    response = await client.submit(model, {"mock": {"wallet_empty": True}})
    assert response.status_code == 503 and response.json()["code"] == "upstream_wallet_empty", response.text
    assert "no balance" in response.json()["message"]
    task = await mongo_db.tasks.find_one({"user_id": client.user_id})
    assert "upstream_wallet_empty" in (await settled_task(mongo_db, task["_id"]))["error"]
    assert (await admin.wallet(client.user_id))["available"] == 100
    metrics = (await admin.http.get(f"{stack.gateway_url}/metrics")).text
    assert f'custompass_upstream_wallet_empty_total{{channel="{channel["id"]}"}} 1.0' in metrics


async def test_task_end_webhook_is_taken_once_and_read_from_the_upstream(runninghub_channel, make_client, admin,
                                                                         mongo_db, runninghub, stack):
    model, channel = await runninghub_channel(poll_interval_s=3600)  # only the webhook can finish it
    client = await make_client(quota=100)
    task_id = (await client.submit(model, {"mock": {"webhook_copies": 3}})).json()["task_id"]
    task = await settled_task(mongo_db, task_id)
    assert task["status"] == "SUCCESS"
    deliveries = await eventually(lambda: _count(runninghub, task["upstream_task_id"], 3))
    assert [d["status"] for d in deliveries] == [200, 200, 200]
    reads = (await runninghub.get("/_mock/requests", params={"path_contains": "outputs",
                                                             "task_id": task["upstream_task_id"]})).json()
    assert len(reads) == 1  # the unsigned webhook was checked against the upstream, once
    assert await mongo_db.webhook_receipts.count_documents({"task_id": task_id}) == 1
    await assert_one_log(mongo_db, task_id, "SUCCESS", 12)
    async with httpx.AsyncClient(timeout=10) as http:
        junk = await http.post(f"{stack.gateway_url}/webhooks/runninghub/{channel['id']}?task_id={task_id}",
                               json={"event": "SOMETHING", "taskId": task["upstream_task_id"]})
    assert junk.status_code == 401 and junk.json()["code"] == "invalid_webhook"


async def _count(runninghub: httpx.AsyncClient, task_id: str, count: int):
    found = (await runninghub.get("/_mock/deliveries", params={"task_id": task_id})).json()
    return found if len(found) == count else None


async def test_owner_cancels_a_running_task_and_is_refunded(runninghub_channel, make_client, admin, mongo_db,
                                                            runninghub):
    model, _ = await runninghub_channel(poll_interval_s=3600)
    client = await make_client(quota=100)
    task_id = (await client.submit(model, {"mock": {"run_ms": 600_000}})).json()["task_id"]
    response = await client.http.post(f"/pass/{model}/task/{task_id}/cancel")
    assert response.status_code == 200 and response.json()["status"] == "failed", response.text
    task = await settled_task(mongo_db, task_id)
    assert (task["status"], task["fail_reason"]) == ("FAILURE", "canceled")
    cancels = (await runninghub.get("/_mock/requests", params={"path_contains": "cancel",
                                                               "task_id": task["upstream_task_id"]})).json()
    assert [c["body"]["apiKey"] for c in cancels] == ["rh-test-key"]
    await assert_one_log(mongo_db, task_id, "FAILURE", 0)
    assert (await admin.wallet(client.user_id))["available"] == 100
