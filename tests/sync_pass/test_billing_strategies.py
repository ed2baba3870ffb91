"""Billing modes, upstream precharge and concurrency on sync calls, end to end."""
from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from tests.harness.api import assert_sound_wallet, eventually

USAGE_50 = {"prompt_tokens": 20, "completion_tokens": 30}


@pytest.mark.parametrize("billing,hold,charged", [
    ({"mode": "free", "price": 0}, 0, 0),
    ({"mode": "per_call", "price": 10}, 10, 10),
    ({"mode": "per_call", "price": 10, "precharge": 4}, 4, 10),  # shortfall charged
    ({"mode": "per_usage", "price": 100, "precharge": 10}, 10, 5),  # 50 tokens x 100 / 1000; excess refunded
    ({"mode": "per_usage", "price": 100}, 0, 5),  # nothing held, all of it charged after
    ({"mode": "per_usage", "price": 7, "precharge": 3}, 3, 1),  # ceil(0.35)
])
async def test_billing_modes(billing, hold, charged, sync_channel, make_client, admin, settled_call):
    model, _ = await sync_channel(billing=billing)
    client = await make_client(quota=100)
    response = await client.http.post(f"/pass/{model}", json={"mock": {"usage": USAGE_50}})
    assert response.status_code == 200, response.text
    _, log = await settled_call(response)
    assert (log["hold"], log["quota"], log["refund"]) == (hold, charged, max(hold - charged, 0))
    assert await admin.wallet(client.user_id) == {"available": 100 - charged, "held": 0, "used": charged,
                                                  "credited": 100, "debt": 0}


async def test_upstream_precharge_prices_the_hold_then_settles_from_real_usage(sync_channel, make_client, upstream,
                                                                              settled_call):
    model, _ = await sync_channel(upstream_precharge=True, billing={"mode": "per_usage", "price": 100})
    client = await make_client(quota=100)
    response = await client.http.post(f"/pass/{model}", json={"prompt": "p", "mock": {
        "precharge": True, "precharge_usage": {"prompt_tokens": 100, "completion_tokens": 100}, "usage": USAGE_50}})
    assert response.status_code == 200, response.text
    assert response.json()["usage"]["total_tokens"] == 50
    calls = (await upstream.get("/_mock/requests", params={"path_contains": f"/{model}"})).json()
    assert [c["body"].get("precharge") for c in calls] == [True, None]  # estimate first, then the real call
    _, log = await settled_call(response)
    assert (log["hold"], log["quota"], log["refund"]) == (20, 5, 15)  # 200 estimated tokens held


async def test_upstream_answering_the_precharge_request_for_real_is_called_once(sync_channel, make_client, upstream,
                                                                               settled_call):
    model, _ = await sync_channel(upstream_precharge=True, billing={"mode": "per_usage", "price": 100, "precharge": 8})
    client = await make_client(quota=100)
    response = await client.http.post(f"/pass/{model}", json={"mock": {"usage": USAGE_50}})  # no precharge support
    assert response.status_code == 200 and response.json()["data"]["echo"]["precharge"] is True
    assert len((await upstream.get("/_mock/requests", params={"path_contains": f"/{model}"})).json()) == 1
    _, log = await settled_call(response)
    assert (log["hold"], log["quota"], log["refund"]) == (8, 5, 3)


async def test_precharge_channel_refuses_a_body_that_is_not_a_json_object(sync_channel, make_client, upstream):
    model, _ = await sync_channel(upstream_precharge=True)
    client = await make_client(quota=100)
    response = await client.http.post(f"/pass/{model}", content=b"[1, 2]")
    assert response.status_code == 400 and response.json()["code"] == "invalid_request"
    assert (await upstream.get("/_mock/requests", params={"path_contains": f"/{model}"})).json() == []


async def test_parallel_calls_on_a_small_wallet_never_overdraw(sync_channel, make_client, admin, mongo_db):
    model, _ = await sync_channel(billing={"mode": "per_call", "price": 10})
    client = await make_client(quota=55)
    responses = await asyncio.gather(*(client.http.post(f"/pass/{model}", json={"n": i}) for i in range(200)))
    outcomes = Counter((r.status_code, r.json()["code"]) for r in responses)
    assert outcomes == {(200, 0): 5, (402, 1003): 195}, outcomes

    async def all_settled():
        return await mongo_db.tasks.count_documents({"user_id": client.user_id, "settled": True}) == 5
    await eventually(all_settled, timeout=30)
    assert await mongo_db.tasks.count_documents({"user_id": client.user_id}) == 5  # refusals leave no task
    assert await mongo_db.consumption_logs.count_documents({"user_id": client.user_id}) == 5
    assert await admin.wallet(client.user_id) == {"available": 5, "held": 0, "used": 50, "credited": 55, "debt": 0}
    await assert_sound_wallet(mongo_db, client.user_id)
