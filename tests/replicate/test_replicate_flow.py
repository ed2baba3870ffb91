"""Replicate channels through all four services, the real broker and database, and the mock
Replicate over HTTP: submit, signed webhooks, polling, races between them, cancel."""
from __future__ import annotations

import json

from tests.harness.api import assert_sound_wallet
from tests.harness.settled import assert_one_log, settled_task


async def test_success_by_webhook_bills_predict_time(replicate_channel, make_client, admin, mongo_db, replicate):
    model, channel = await replicate_channel()  # polls every hour: only the webhook can finish it
    client = await make_client(quota=100)
    response = await client.submit(model, {"prompt": "a cat", "mock": {"predict_time": 2.5}})
    assert response.status_code == 200, response.text
    task_id = response.json()["task_id"]
    assert (await admin.wallet(client.user_id))["held"] == 20

    task = await settled_task(mongo_db, task_id)
    creates = await replicate.requests("/v1/models/black-forest-labs/flux-schnell/predictions")
    (sent,) = [body for body in map(lambda r: json.loads(r["body"]), creates) if body["webhook"].endswith(task_id)]
    assert sent["input"] == {"prompt": "a cat", "mock": {"predict_time": 2.5}}
    assert sent["webhook_events_filter"] == ["completed"]
    assert sent["webhook"].endswith(f"/webhooks/replicate/{channel['id']}?task_id={task_id}")
    assert task["status"] == "SUCCESS" and task["usage"] == {"predict_time": 2.5}
    assert await replicate.requests(f"/v1/predictions/{task['upstream_task_id']}") == []  # never polled
    view = (await client.fetch(model, task_id)).json()
    assert view["status"] == "completed" and view["result"] == [f"{replicate.url}/files/{task['upstream_task_id']}.png"]
    # 2.5 s x 2,000 quota per 1,000 s = 5 quota; the rest of the 20 held comes back
    assert await admin.wallet(client.user_id) == {"available": 95, "held": 0, "used": 5, "credited": 100, "debt": 0}
    await assert_one_log(mongo_db, task_id, "SUCCESS", 5)
    await assert_sound_wallet(mongo_db, client.user_id)


async def test_version_model_is_created_on_the_predictions_endpoint(replicate_channel, make_client, replicate,
                                                                    mongo_db):
    version = "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa"
    model, _ = await replicate_channel(model="sdxl-version", poll_interval_s=0.2,
                                       model_mapping={"sdxl-version": f"stability-ai/sdxl:{version}"})
    client = await make_client(quota=100)
    response = await client.submit(model, {"input": {"prompt": "x"}})
    assert response.status_code == 200, response.text
    creates = [json.loads(r["body"]) for r in await replicate.requests("/v1/predictions")
               if r["method"] == "POST" and r["path"] == "/v1/predictions"]
    assert [c["input"] for c in creates if c["version"] == f"stability-ai/sdxl:{version}"] == [{"prompt": "x"}]
    await settled_task(mongo_db, response.json()["task_id"])


async def test_failed_and_aborted_predictions_refund_in_full(replicate_channel, make_client, admin, mongo_db):
    model, _ = await replicate_channel(poll_interval_s=0.2)
    client = await make_client(quota=100)
    failed = (await client.submit(model, {"mock": {"outcome": "failed", "webhook_delay_ms": 60000}})).json()
    aborted = (await client.submit(model, {"mock": {"outcome": "aborted", "webhook_delay_ms": 60000}})).json()
    for task_id, reason, error in ((failed["task_id"], "upstream_failed", "CUDA out of memory"),
                                   (aborted["task_id"], "aborted", "prediction aborted")):
        task = await settled_task(mongo_db, task_id)  # by polling: the webhooks come a minute late
        assert (task["status"], task["fail_reason"], task["error"]) == ("FAILURE", reason, error)
        await assert_one_log(mongo_db, task_id, "FAILURE", 0)
    assert await admin.wallet(client.user_id) == {"available": 100, "held": 0, "used": 0, "credited": 100, "debt": 0}
