"""`POST /pass/{model}`: the upstream's answer passed through, the task settled from its usage,
every failure refunded in full — through every service process and the mock upstream."""
from __future__ import annotations

from shared.upstream.caller_token import user_ref
from tests.harness.api import eventually
from tools import devinfra

PER_USAGE = {"mode": "per_usage", "price": 100}  # quota per 1,000 tokens


async def test_success_below_the_hold_answers_as_the_upstream_and_refunds_the_excess(
        sync_channel, make_client, admin, settled_call):
    model, channel = await sync_channel(billing={**PER_USAGE, "precharge": 10})
    client = await make_client(quota=100)
    body = {"prompt": "hello", "mock": {"usage": {"prompt_tokens": 20, "completion_tokens": 30}}}
    response = await client.http.post(f"/pass/{model}", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["code"] == 0 and answer["data"]["echo"] == body and answer["data"]["model"] == model
    assert answer["usage"] == {"prompt_tokens": 20, "completion_tokens": 30, "total_tokens": 50}
    task, log = await settled_call(response)
    assert task["status"] == "SUCCESS" and task["usage"]["total_tokens"] == 50
    assert (log["hold"], log["quota"], log["refund"]) == (10, 5, 5)  # 50 tokens x 100 / 1000 = 5
    assert log["channel_id"] == channel["id"] and log["status"] == "SUCCESS"
    assert await admin.wallet(client.user_id) == {"available": 95, "held": 0, "used": 5, "credited": 100, "debt": 0}


async def test_success_above_the_hold_charges_the_shortfall(sync_channel, make_client, admin, settled_call):
    model, _ = await sync_channel(billing={**PER_USAGE, "precharge": 5})
    client = await make_client(quota=100)
    response = await client.http.post(f"/pass/{model}", json={"mock": {"usage": {"prompt_tokens": 40,
                                                                                  "completion_tokens": 50}}})
    assert response.status_code == 200, response.text
    _, log = await settled_call(response)
    assert (log["hold"], log["quota"], log["refund"]) == (5, 9, 0)  # 90 tokens -> 9
    assert await admin.wallet(client.user_id) == {"available": 91, "held": 0, "used": 9, "credited": 100, "debt": 0}


async def test_both_credentials_and_the_query_string_reach_the_upstream(sync_channel, make_client, upstream, stack):
    model, _ = await sync_channel()
    client = await make_client()
    response = await client.http.post(f"/pass/{model}?quality=high&n=2", content=b'{"prompt": "q"}',
                                      headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    [record] = (await upstream.get("/_mock/requests", params={"path_contains": f"/{model}"})).json()
    assert record["method"] == "POST" and record["path"] == f"/{model}"
    assert record["headers"]["authorization"] == "Bearer upstream-secret"
    # The default header, with the default caller_token: the user's reference, never their key.
    assert record["headers"]["x-custom-token"] == user_ref(client.user_id, stack.env["USER_REF_SECRET"])
    assert record["query"] == {"quality": "high", "n": "2"}
    assert record["body"] == {"prompt": "q"}


async def test_the_channels_token_header_name_is_used(sync_channel, make_client, upstream):
    model, _ = await sync_channel(token_header="X-Caller-Token", caller_token="key")
    client = await make_client()
    assert (await client.http.post(f"/pass/{model}", json={})).status_code == 200
    [record] = (await upstream.get("/_mock/requests", params={"path_contains": f"/{model}"})).json()
    assert record["headers"]["x-caller-token"] == client.key and "x-custom-token" not in record["headers"]


async def refunded(response, settled_call, admin, client, reason: str = "upstream_error") -> None:
    task, log = await settled_call(response)
    assert task["status"] == "FAILURE" and task["fail_reason"] == reason
    assert (log["hold"], log["quota"], log["refund"]) == (10, 0, 10)
    assert await admin.wallet(client.user_id) == {"available": 50, "held": 0, "used": 0, "credited": 50, "debt": 0}


async def test_upstream_http_500_is_a_502_and_refunds_in_full(sync_channel, make_client, admin, settled_call):
    model, _ = await sync_channel()
    client = await make_client(quota=50)
    response = await client.http.post(f"/pass/{model}", json={"mock": {"outcome": "http_error", "http_status": 500}})
    assert response.status_code == 502
    assert response.json() == {"code": "upstream_http_error", "message": "upstream answered HTTP 500"}
    await refunded(response, settled_call, admin, client)


async def test_upstream_timeout_is_a_504_and_refunds_in_full(sync_channel, make_client, admin, settled_call):
    model, _ = await sync_channel(timeout_s=0.5)
    client = await make_client(quota=50)
    response = await client.http.post(f"/pass/{model}", json={"mock": {"delay_ms": 3000}})
    assert response.status_code == 504 and response.json()["code"] == "upstream_timeout"
    await refunded(response, settled_call, admin, client)


async def test_malformed_answers_are_a_502_and_refund_in_full(sync_channel, make_client, admin, settled_call):
    model, _ = await sync_channel()
    client = await make_client(quota=50)
    for flavour in ("invalid_json", "missing_code"):
        response = await client.http.post(f"/pass/{model}", json={"mock": {"outcome": "malformed",
                                                                          "malformed_body": flavour}})
        assert response.status_code == 502 and response.json()["code"] == "upstream_malformed", response.text
        await refunded(response, settled_call, admin, client)


async def test_upstream_refusal_is_passed_through_and_refunds_in_full(sync_channel, make_client, admin, settled_call):
    model, _ = await sync_channel()
    client = await make_client(quota=50)
    response = await client.http.post(f"/pass/{model}", json={"mock": {"outcome": "error", "error_code": 4242,
                                                                      "error_message": "prompt refused"}})
    assert response.status_code == 502  # the upstream said HTTP 200: a refusal still is no success
    assert response.json() == {"code": 4242, "message": "prompt refused"}
    await refunded(response, settled_call, admin, client)


async def test_upstream_refusal_keeps_the_upstreams_error_status(sync_channel, make_client, admin, settled_call):
    model, _ = await sync_channel()
    client = await make_client(quota=50)
    response = await client.http.post(f"/pass/{model}", json={"mock": {"outcome": "no-such-outcome"}})
    assert response.status_code == 400  # the mock refuses the scenario with an HTTP 400 envelope
    assert response.json()["code"] == 400 and "invalid mock scenario" in response.json()["message"]
    await refunded(response, settled_call, admin, client)


async def test_unreachable_upstream_is_a_502_and_refunds_in_full(sync_channel, make_client, admin, settled_call):
    model, _ = await sync_channel(base_url=f"http://127.0.0.1:{devinfra.free_port()}")  # nothing listens
    client = await make_client(quota=50)
    response = await client.http.post(f"/pass/{model}", json={})
    assert response.status_code == 502 and response.json()["code"] == "upstream_unreachable"
    await refunded(response, settled_call, admin, client)


async def test_async_routes_still_win_over_the_sync_catch_all(sync_channel, make_client, upstream):
    model, _ = await sync_channel()
    client = await make_client()
    submit = await client.http.post(f"/pass/{model}/submit", json={})
    assert submit.status_code == 404 and submit.json()["code"] == "model_not_found"  # no async channel serves it
    listed = await client.http.post(f"/pass/{model}/task/list-by-condition", json={"task_ids": []})
    assert listed.json() == {"code": 0, "msg": "success", "data": []}
    assert (await upstream.get("/_mock/requests", params={"path_contains": f"/{model}"})).json() == []


async def test_unknown_model_and_missing_key_are_refused_without_a_task(make_client, mongo_db, stack):
    client = await make_client()
    response = await client.http.post("/pass/no-such-model", json={})
    assert response.status_code == 404 and response.json()["code"] == "model_not_found"
    anonymous = await client.http.post("/pass/no-such-model", json={}, headers={"Authorization": ""})
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "unauthorized"
    assert await mongo_db.tasks.count_documents({"user_id": client.user_id}) == 0


async def test_insufficient_quota_is_refused_before_the_upstream_is_called(sync_channel, make_client, upstream,
                                                                          mongo_db):
    model, _ = await sync_channel()
    client = await make_client(quota=5)
    response = await client.http.post(f"/pass/{model}", json={})
    assert response.status_code == 402 and response.json()["code"] == 1003
    assert (await upstream.get("/_mock/requests", params={"path_contains": f"/{model}"})).json() == []
    assert await mongo_db.tasks.count_documents({"user_id": client.user_id}) == 0


async def test_sync_calls_are_listed_among_the_callers_tasks(sync_channel, make_client, settled_call):
    model, _ = await sync_channel()
    client = await make_client()
    response = await client.http.post(f"/pass/{model}", json={})
    await settled_call(response)

    async def listed():
        rows = (await client.http.get("/api/tasks")).json()["data"]
        return rows if rows and rows[0]["status"] == "completed" else None
    [row] = await eventually(listed)
    assert row["task_id"] == response.headers["x-custompass-task-id"] and row["mode"] == "sync"
