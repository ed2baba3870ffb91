"""Replicate deletes outputs after about an hour: a channel with `result_storage: local` keeps a
copy of each output file when the result is first fetched, and the client reads it from the
gateway. The mock's output URL expires after one download (`output_downloads: 1`), so a client
that got the upstream's URL would find nothing."""
from __future__ import annotations

import httpx

from tests.harness.api import assert_sound_wallet
from tests.harness.settled import assert_one_log, settled_task
from tools.mock_replicate.app import output_bytes


async def test_result_outlives_the_upstream_output_by_webhook(replicate_channel, make_client, admin, mongo_db,
                                                              replicate, stack):
    model, _ = await replicate_channel(result_storage="local")  # polls hourly: the webhook finishes it
    client = await make_client(quota=100)
    task_id = (await client.submit(model, {"prompt": "a cat", "mock": {"output_downloads": 1}})).json()["task_id"]
    task = await settled_task(mongo_db, task_id)
    prediction_id = task["upstream_task_id"]
    upstream_url = f"{replicate.url}/files/{prediction_id}.png"
    assert (await replicate.http.get(upstream_url)).status_code == 404  # expired upstream

    (ours,) = (await client.fetch(model, task_id)).json()["result"]
    assert ours.startswith(f"{stack.gateway_url}/results/{task_id}/") and ours.endswith(".png")
    assert task["result"] == [ours] and "result_storage_errors" not in task
    async with httpx.AsyncClient(timeout=10) as anyone:  # result links need no credentials, as upstream
        file = await anyone.get(ours)
    assert file.status_code == 200 and file.content == output_bytes(prediction_id)
    assert file.headers["content-type"] == "image/png"
    assert len(await replicate.requests(f"/files/{prediction_id}.png")) == 2  # our copy, then the 404 above
    await assert_one_log(mongo_db, task_id, "SUCCESS", 5)
    await assert_sound_wallet(mongo_db, client.user_id)


async def test_polled_result_is_stored_too(replicate_channel, make_client, mongo_db, replicate, stack):
    model, _ = await replicate_channel(result_storage="local", poll_interval_s=0.2)
    client = await make_client(quota=100)
    task_id = (await client.submit(model, {"mock": {"output_downloads": 1, "webhook_delay_ms": 60000}})).json()[
        "task_id"]
    task = await settled_task(mongo_db, task_id)  # by polling: the webhook comes a minute late
    (ours,) = task["result"]
    async with httpx.AsyncClient(timeout=10) as anyone:
        file = await anyone.get(ours)
    assert file.status_code == 200 and file.content == output_bytes(task["upstream_task_id"])


async def test_output_that_cannot_be_copied_keeps_its_url_and_the_task_still_succeeds(
        replicate_channel, make_client, admin, mongo_db, replicate):
    model, _ = await replicate_channel(result_storage="local")
    client = await make_client(quota=100)
    task_id = (await client.submit(model, {"mock": {"output_downloads": 0}})).json()["task_id"]  # gone at once
    task = await settled_task(mongo_db, task_id)
    upstream_url = f"{replicate.url}/files/{task['upstream_task_id']}.png"
    assert task["status"] == "SUCCESS" and task["result"] == [upstream_url]
    assert task["result_storage_errors"] == [f"{upstream_url}: the upstream answered HTTP 404"]
    await assert_one_log(mongo_db, task_id, "SUCCESS", 5)  # the work was done: it is charged
    assert (await admin.wallet(client.user_id))["used"] == 5


async def test_channels_without_result_storage_keep_upstream_urls(replicate_channel, make_client, mongo_db,
                                                                  replicate):
    model, _ = await replicate_channel()
    client = await make_client(quota=100)
    task_id = (await client.submit(model, {"prompt": "x"})).json()["task_id"]
    task = await settled_task(mongo_db, task_id)
    assert task["result"] == [f"{replicate.url}/files/{task['upstream_task_id']}.png"]
    assert await replicate.requests(f"/files/{task['upstream_task_id']}.png") == []
