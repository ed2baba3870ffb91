"""Cancelling a Replicate task, and a poller that respects Replicate's 429 answers."""
from __future__ import annotations

from tests.harness.api import eventually
from tests.harness.settled import assert_one_log, settled_task


async def test_owner_cancels_upstream_and_is_refunded(replicate_channel, make_client, admin, mongo_db, replicate):
    model, _ = await replicate_channel()
    owner, stranger = await make_client(quota=100), await make_client(quota=100)
    task_id = (await owner.submit(model, {"mock": {"run_ms": 600_000}})).json()["task_id"]

    refused = await stranger.http.post(f"/pass/{model}/task/{task_id}/cancel")
    assert refused.status_code == 404 and refused.json()["code"] == "task_not_found"
    response = await owner.http.post(f"/pass/{model}/task/{task_id}/cancel")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "failed"
    task = await settled_task(mongo_db, task_id)
    assert (task["status"], task["fail_reason"]) == ("FAILURE", "canceled")
    assert len(await replicate.requests(f"/v1/predictions/{task['upstream_task_id']}/cancel")) == 1
    await assert_one_log(mongo_db, task_id, "FAILURE", 0)
    assert await admin.wallet(owner.user_id) == {"available": 100, "held": 0, "used": 0, "credited": 100, "debt": 0}
    again = await owner.http.post(f"/pass/{model}/task/{task_id}/cancel")
    assert again.status_code == 409 and again.json()["code"] == "task_finished"


async def test_custompass_tasks_cannot_be_cancelled(async_channel, make_client):
    model, _ = await async_channel(poll_interval_s=3600)
    client = await make_client(quota=100)
    task_id = (await client.submit(model, {})).json()["task_id"]
    response = await client.http.post(f"/pass/{model}/task/{task_id}/cancel")
    assert response.status_code == 409 and response.json()["code"] == "cancel_not_supported"


async def test_throttled_polls_wait_for_retry_after(replicate_channel, make_client, mongo_db, replicate):
    model, _ = await replicate_channel(poll_interval_s=0.2)
    client = await make_client(quota=100)
    task_id = (await client.submit(model, {"mock": {"run_ms": 0, "throttle_gets": 2,
                                                    "webhook_delay_ms": 600_000}})).json()["task_id"]
    task = await settled_task(mongo_db, task_id)
    polls = await eventually(lambda: replicate.requests(f"/v1/predictions/{task['upstream_task_id']}"))
    assert len(polls) >= 3
    gaps = [later["at"] - earlier["at"] for earlier, later in zip(polls, polls[1:3])]
    assert min(gaps) >= 0.95, gaps  # Retry-After: 1, though the channel polls every 0.2 s
    await assert_one_log(mongo_db, task_id, "SUCCESS", 5)
