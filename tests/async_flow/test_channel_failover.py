"""Async submits fail over only when the upstream surely did not accept the task: a channel
never reached hands it to the next; a slow one (which may have accepted it) does not."""
from __future__ import annotations

from tests.async_flow.test_async_flow import settled


async def test_a_channel_never_reached_hands_the_task_to_the_next(async_channel, make_client, admin, mongo_db,
                                                                  upstream):
    model, backup = await async_channel()
    _, primary = await async_channel(model=model, base_url="http://127.0.0.1:9", priority=10)  # nothing listens
    client = await make_client(quota=100)
    response = await client.submit(model, {"prompt": "p"})
    assert response.status_code == 200, response.text
    view = await settled(client, model, response.json()["task_id"], mongo_db)
    assert view["status"] == "completed"
    task = await mongo_db.tasks.find_one({"_id": response.json()["task_id"]})
    assert task["channel_id"] == backup["id"]
    log = await mongo_db.consumption_logs.find_one({"task_id": task["_id"]})
    assert log["channel_id"] == backup["id"] and log["quota"] == 10
    assert (await admin.http.get(f"/admin/channels/{primary['id']}")).json()["consecutive_failures"] == 1


async def test_a_channel_that_may_have_accepted_the_task_is_not_failed_over(async_channel, make_client, admin,
                                                                            mongo_db, upstream):
    model, _ = await async_channel(model_mapping={})
    await async_channel(model=model, model_mapping={model: f"{model}-fast"})
    await async_channel(model=model, model_mapping={model: f"{model}-slow"}, priority=10, timeout_s=0.5)
    await upstream.put(f"/_mock/scenarios/{model}-slow", json={"delay_ms": 2000})
    client = await make_client(quota=100)
    response = await client.submit(model, {})
    assert response.status_code == 504 and response.json()["code"] == "upstream_timeout"
    assert (await upstream.get("/_mock/requests", params={"path_contains": f"{model}-fast"})).json() == []
    task = await mongo_db.tasks.find_one({"user_id": client.user_id})
    await settled(client, model, task["_id"], mongo_db)
    assert (await admin.wallet(client.user_id))["available"] == 100
