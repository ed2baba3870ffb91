"""The async CustomPass flow through all four services, the real broker and database, and the
mock upstream over HTTP."""
from __future__ import annotations

import asyncio

from tests.harness.api import assert_sound_wallet, eventually


async def settled(client, model: str, task_id: str, mongo_db) -> dict:
    """Waits until the task is terminal and its settlement is written; returns the fetch view."""
    async def done():
        task = await mongo_db.tasks.find_one({"_id": task_id})
        return task is not None and task.get("settled")
    await eventually(done, timeout=30)
    response = await client.fetch(model, task_id)
    assert response.status_code == 200, response.text
    return response.json()


async def test_happy_path_completes_charges_once_and_logs_once(async_channel, make_client, admin, mongo_db, upstream):
    model, _ = await async_channel()
    client = await make_client(quota=100)
    response = await client.submit(model, {"prompt": "a cat", "mock": {"polls_before_done": 2}})
    assert response.status_code == 200, response.text
    submitted = response.json()
    assert submitted["task_id"].startswith("task_") and submitted["status"] == "processing"
    assert (await admin.wallet(client.user_id))["held"] == 10

    seen = set()

    async def completed():
        view = (await client.fetch(model, submitted["task_id"])).json()
        seen.add(view["status"])
        return view["status"] == "completed"
    await eventually(completed, timeout=30, interval=0.05)
    view = await settled(client, model, submitted["task_id"], mongo_db)
    assert view == {"task_id": submitted["task_id"], "status": "completed", "progress": "100%",
                    "result": {"url": view["result"]["url"]}}
    assert "processing" in seen

    listed = await client.http.post(f"/pass/{model}/task/list-by-condition",
                                    json={"task_ids": [submitted["task_id"], "task_missing"]})
    assert listed.json() == {"code": 0, "msg": "success", "data": [view]}
    assert await admin.wallet(client.user_id) == {"available": 90, "held": 0, "used": 10, "credited": 100, "debt": 0}
    logs = await mongo_db.consumption_logs.find({"task_id": submitted["task_id"]}).to_list(None)
    assert len(logs) == 1 and logs[0]["quota"] == 10 and logs[0]["refund"] == 0 and logs[0]["status"] == "SUCCESS"
    own_logs = (await client.http.get("/api/logs")).json()
    assert [row["task_id"] for row in own_logs["data"]] == [submitted["task_id"]]
    await assert_sound_wallet(mongo_db, client.user_id)


async def test_credentials_and_query_string_reach_the_upstream(async_channel, make_client, upstream):
    model, _ = await async_channel(token_header="X-Caller-Token", caller_token="key")
    client = await make_client()
    response = await client.http.post(f"/pass/{model}/submit?quality=high&n=2", content=b'{"prompt":"q"}',
                                      headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    records = (await upstream.get("/_mock/requests", params={"path_contains": f"{model}/submit"})).json()
    assert len(records) == 1
    record = records[0]
    assert record["headers"]["authorization"] == "Bearer upstream-secret"
    assert record["headers"]["x-caller-token"] == client.key
    assert record["query"] in ({"quality": ["high"], "n": ["2"]}, {"quality": "high", "n": "2"}, "quality=high&n=2")
    assert record["body"] == {"prompt": "q"}


async def test_failed_task_refunds_in_full(async_channel, make_client, admin, mongo_db):
    model, _ = await async_channel()
    client = await make_client(quota=50)
    task_id = (await client.submit(model, {"mock": {"outcome": "fail"}})).json()["task_id"]
    view = await settled(client, model, task_id, mongo_db)
    assert view["status"] == "failed" and view["error"] == "generation failed"
    assert await admin.wallet(client.user_id) == {"available": 50, "held": 0, "used": 0, "credited": 50, "debt": 0}
    assert await mongo_db.consumption_logs.count_documents({"task_id": task_id}) == 1


async def test_upstream_submit_error_is_passed_through_and_refunded(async_channel, make_client, admin, mongo_db):
    model, _ = await async_channel()
    client = await make_client(quota=50)
    response = await client.submit(model, {"mock": {"outcome": "error", "error_code": 4242,
                                                    "error_message": "prompt refused"}})
    assert response.status_code == 502
    assert response.json() == {"code": 4242, "message": "prompt refused"}
    await eventually(lambda: _no_open_holds(admin, client.user_id))
    assert (await admin.wallet(client.user_id))["available"] == 50
    task = await mongo_db.tasks.find_one({"user_id": client.user_id})
    assert task["status"] == "FAILURE" and task["fail_reason"] == "upstream_error"


async def test_task_past_its_lifetime_times_out_and_is_refunded(async_channel, make_client, admin, mongo_db):
    model, _ = await async_channel(task_lifetime_s=1.5)
    client = await make_client(quota=50)
    task_id = (await client.submit(model, {"mock": {"outcome": "never"}})).json()["task_id"]
    view = await settled(client, model, task_id, mongo_db)
    assert view["status"] == "failed"
    assert (await mongo_db.tasks.find_one({"_id": task_id}))["fail_reason"] == "timeout"
    assert (await admin.wallet(client.user_id))["available"] == 50


async def test_task_whose_channel_is_disabled_fails_and_is_refunded(async_channel, make_client, admin, mongo_db):
    model, channel = await async_channel()
    client = await make_client(quota=50)
    task_id = (await client.submit(model, {"mock": {"outcome": "never"}})).json()["task_id"]
    assert (await admin.http.put(f"/admin/channels/{channel['id']}", json={"enabled": False})).status_code == 200
    await settled(client, model, task_id, mongo_db)
    assert (await mongo_db.tasks.find_one({"_id": task_id}))["fail_reason"] == "channel_unavailable"
    assert (await admin.wallet(client.user_id))["available"] == 50


async def test_per_usage_charges_shortfall_and_refunds_excess(async_channel, make_client, admin, mongo_db):
    # price 100 quota per 1,000 tokens, 5 held up front
    model, _ = await async_channel(billing={"mode": "per_usage", "price": 100, "precharge": 5})
    client = await make_client(quota=100)
    above = (await client.submit(model, {"mock": {"usage": {"prompt_tokens": 40, "completion_tokens": 50}}})).json()
    below = (await client.submit(model, {"mock": {"usage": {"prompt_tokens": 10, "completion_tokens": 10}}})).json()
    await settled(client, model, above["task_id"], mongo_db)
    await settled(client, model, below["task_id"], mongo_db)
    above_log = await mongo_db.consumption_logs.find_one({"task_id": above["task_id"]})
    below_log = await mongo_db.consumption_logs.find_one({"task_id": below["task_id"]})
    assert (above_log["hold"], above_log["quota"], above_log["refund"]) == (5, 9, 0)  # 90 tokens -> 9
    assert (below_log["hold"], below_log["quota"], below_log["refund"]) == (5, 2, 3)  # 20 tokens -> 2
    assert await admin.wallet(client.user_id) == {"available": 89, "held": 0, "used": 11, "credited": 100, "debt": 0}


async def test_insufficient_quota_and_membership_are_rejected_without_a_task(async_channel, make_client, mongo_db):
    model, _ = await async_channel()
    poor = await make_client(quota=5)
    response = await poor.submit(model, {})
    assert response.status_code == 402 and response.json()["code"] == 1003
    lapsed = await make_client(quota=50, member_until="2020-01-01T00:00:00Z")
    response = await lapsed.submit(model, {})
    assert response.status_code == 403 and response.json()["code"] == 1002
    assert await mongo_db.tasks.count_documents({"user_id": {"$in": [poor.user_id, lapsed.user_id]}}) == 0


async def test_unknown_model_is_404(make_client):
    client = await make_client()
    response = await client.submit("no-such-model", {})
    assert response.status_code == 404 and response.json()["code"] == "model_not_found"


async def test_users_cannot_see_each_others_tasks(async_channel, make_client):
    model, _ = await async_channel()
    alice, bob = await make_client(), await make_client()
    task_id = (await alice.submit(model, {})).json()["task_id"]
    assert (await bob.fetch(model, task_id)).status_code == 404
    assert (await bob.fetch(model, "task_doesnotexist")).json() == (await bob.fetch(model, task_id)).json() | {
        "message": "task task_doesnotexist not found"}
    listed = await bob.http.post(f"/pass/{model}/task/list-by-condition", json={"task_ids": [task_id]})
    assert listed.json()["data"] == []
    assert (await bob.http.get("/api/tasks")).json()["total"] == 0
    assert (await alice.http.get("/api/tasks")).json()["data"][0]["task_id"] == task_id


async def test_list_by_condition_caps_the_number_of_ids(make_client):
    client = await make_client()
    response = await client.http.post("/pass/any/task/list-by-condition",
                                      json={"task_ids": [f"task_{i}" for i in range(101)]})
    assert response.status_code == 400 and response.json()["code"] == "too_many_task_ids"


async def test_idempotency_key_replays_the_same_task_and_holds_once(async_channel, make_client, admin):
    model, _ = await async_channel()
    client = await make_client(quota=100)
    headers = {"Idempotency-Key": "order-17"}
    first, second = await asyncio.gather(client.submit(model, {"prompt": "x"}, headers=headers),
                                         client.submit(model, {"prompt": "x"}, headers=headers))
    ok = [r for r in (first, second) if r.status_code == 200]
    assert ok, (first.text, second.text)
    again = await client.submit(model, {"prompt": "x"}, headers=headers)
    assert again.status_code == 200 and again.json()["task_id"] == ok[0].json()["task_id"]
    assert {r.json()["task_id"] for r in ok} == {again.json()["task_id"]}
    different = await client.submit(model, {"prompt": "y"}, headers=headers)
    assert different.status_code == 409 and different.json()["code"] == "idempotency_key_reused"
    wallet = await admin.wallet(client.user_id)
    assert wallet["held"] + wallet["used"] == 10


async def _no_open_holds(admin, user_id: str) -> bool:
    return (await admin.wallet(user_id))["held"] == 0


async def test_admin_lists_consumption_logs_with_filters(async_channel, make_client, admin, mongo_db):
    model, channel = await async_channel()
    client = await make_client(quota=100)
    task_id = (await client.submit(model, {})).json()["task_id"]
    await settled(client, model, task_id, mongo_db)
    by_user = (await admin.http.get("/admin/consumption-logs", params={"user_id": client.user_id})).json()
    assert by_user["total"] == 1 and by_user["data"][0]["task_id"] == task_id
    assert by_user["data"][0]["channel_id"] == channel["id"] and by_user["data"][0]["quota"] == 10
    none = (await admin.http.get("/admin/consumption-logs", params={"user_id": client.user_id, "model": "other"})).json()
    assert none["total"] == 0
    later = (await admin.http.get("/admin/consumption-logs",
                                  params={"user_id": client.user_id, "since": "2999-01-01T00:00:00Z"})).json()
    assert later["total"] == 0
    assert (await client.http.get("/admin/consumption-logs")).status_code == 401


async def test_poller_backs_off_when_throttled_and_still_finishes(async_channel, make_client, mongo_db, upstream):
    model, _ = await async_channel()
    await upstream.put(f"/_mock/scenarios/{model}", json={"rate_limit": 1, "polls_before_done": 2})
    client = await make_client(quota=100)
    task_ids = [(await client.submit(model, {})).json()["task_id"] for _ in range(3)]
    for task_id in task_ids:
        view = await settled(client, model, task_id, mongo_db)
        assert view["status"] == "completed"
    assert (await upstream.get("/_mock/stats")).json()["rate_limited"] > 0
