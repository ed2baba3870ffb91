"""User groups: the admin API, and the group's price ratio on holds and costs, snapshotted on
the task when it is opened (sync and async calls, end to end)."""
from __future__ import annotations

import secrets

import pytest

from tests.async_flow.conftest import async_channel  # noqa: F401 (shared fixture)
from tests.harness.settled import settled_task

USAGE_90 = {"prompt_tokens": 40, "completion_tokens": 50}


async def new_group(admin, price_ratio) -> str:
    name = f"g-{secrets.token_hex(3)}"
    response = await admin.http.post("/admin/groups", json={"name": name, "price_ratio": price_ratio})
    assert response.status_code == 201, response.text
    assert response.json() == {"name": name, "price_ratio": float(price_ratio), "description": None,
                               "key_defaults": None}
    return name


# --- admin API ---------------------------------------------------------------------------------

async def test_groups_are_created_read_listed_and_updated(admin):
    name = await new_group(admin, "0.8")
    assert (await admin.http.get(f"/admin/groups/{name}")).json()["price_ratio"] == 0.8
    updated = await admin.http.put(f"/admin/groups/{name}", json={"price_ratio": 1.25, "description": "resellers"})
    assert updated.json() == {"name": name, "price_ratio": 1.25, "description": "resellers", "key_defaults": None}
    listed = (await admin.http.get("/admin/groups", params={"limit": 500})).json()
    assert {"name": name, "price_ratio": 1.25, "description": "resellers", "key_defaults": None} in listed


@pytest.mark.parametrize("body", [
    {"name": "vip", "price_ratio": 0}, {"name": "vip", "price_ratio": -1}, {"name": "vip", "price_ratio": 101},
    {"name": "vip", "price_ratio": "cheap"}, {"name": "vip", "price_ratio": 0.1234567},
    {"name": "has space", "price_ratio": 1}, {"name": "", "price_ratio": 1}, {"price_ratio": 1},
    {"name": "vip", "price_ratio": 1, "discount": 5},
])
async def test_bad_group_definitions_are_422(admin, body):
    response = await admin.http.post("/admin/groups", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_request"


async def test_group_errors(admin):
    name = await new_group(admin, 1)
    again = await admin.http.post("/admin/groups", json={"name": name, "price_ratio": 2})
    assert (again.status_code, again.json()["code"]) == (409, "group_exists")
    assert (await admin.http.get("/admin/groups/nope")).status_code == 404
    assert (await admin.http.put("/admin/groups/nope", json={"price_ratio": 1})).status_code == 404
    assert (await admin.http.put(f"/admin/groups/{name}", json={"price_ratio": None})).status_code == 422


async def test_users_join_only_existing_groups(admin):
    unknown = await admin.http.post("/admin/users", json={"name": "u", "group": "missing"})
    assert (unknown.status_code, unknown.json()["code"]) == (400, "unknown_group")
    name = await new_group(admin, "0.5")
    user = (await admin.http.post("/admin/users", json={"name": "u", "group": name})).json()
    assert user["group"] == name
    moved = await admin.http.patch(f"/admin/users/{user['id']}", json={"group": "default"})
    assert moved.json()["group"] == "default"
    refused = await admin.http.patch(f"/admin/users/{user['id']}", json={"group": "missing"})
    assert (refused.status_code, refused.json()["code"]) == (400, "unknown_group")


# --- money -------------------------------------------------------------------------------------

@pytest.mark.parametrize("ratio,billing,hold,charged", [
    ("0.8", {"mode": "per_call", "price": 10}, 8, 8),
    ("0.75", {"mode": "per_call", "price": 7}, 6, 6),  # 5.25 rounds up
    ("1.5", {"mode": "per_usage", "price": 100, "precharge": 10}, 15, 14),  # 90 tokens: 13.5 -> 14
    ("0.5", {"mode": "free"}, 0, 0),
])
async def test_sync_call_is_held_and_charged_at_the_group_ratio(ratio, billing, hold, charged, admin, sync_channel,
                                                                make_client, settled_call):
    group = await new_group(admin, ratio)
    model, _ = await sync_channel(billing=billing)
    client = await make_client(quota=100, group=group)
    response = await client.http.post(f"/pass/{model}", json={"mock": {"usage": USAGE_90}})
    assert response.status_code == 200, response.text
    task, log = await settled_call(response)
    assert task["billing"]["price_ratio"] == ratio  # the terms the task was opened with
    assert (log["hold"], log["quota"], log["price_ratio"]) == (hold, charged, ratio)
    assert await admin.wallet(client.user_id) == {"available": 100 - charged, "held": 0, "used": charged,
                                                  "credited": 100, "debt": 0}


async def test_async_task_keeps_the_ratio_in_force_at_submit(admin, async_channel, make_client, mongo_db):
    group = await new_group(admin, "0.8")
    model, _ = await async_channel()  # per_call price 10
    client = await make_client(quota=100, group=group)
    submitted = await client.submit(model, {"prompt": "p", "mock": {"polls_before_done": 3}})
    assert submitted.status_code == 200, submitted.text
    assert (await admin.wallet(client.user_id))["held"] == 8
    # The group gets dearer while the task runs: the task was accepted at 0.8.
    assert (await admin.http.put(f"/admin/groups/{group}", json={"price_ratio": 2})).status_code == 200
    await settled_task(mongo_db, submitted.json()["task_id"])
    assert await admin.wallet(client.user_id) == {"available": 92, "held": 0, "used": 8, "credited": 100, "debt": 0}
    later = await client.submit(model, {"prompt": "p", "mock": {"outcome": "never"}})
    assert later.status_code == 200 and (await admin.wallet(client.user_id))["held"] == 20


async def test_wallet_shows_quota_and_usd(admin, make_client):
    client = await make_client(quota=1_250_001)
    mine = (await client.http.get("/api/wallet")).json()
    assert mine["available"] == 1_250_001
    assert mine["usd"] == {"quota_per_usd": 500_000, "available": "2.500002", "held": "0.000000",
                           "used": "0.000000", "credited": "2.500002", "debt": "0.000000"}
    seen_by_admin = (await admin.http.get(f"/admin/users/{client.user_id}/wallet")).json()
    assert seen_by_admin == mine


# --- default key limits ------------------------------------------------------------------------

async def test_keys_inherit_their_groups_default_limits_and_their_own_settings_win(admin, sync_channel, make_client):
    model, _ = await sync_channel()
    group = f"g-{secrets.token_hex(3)}"
    created = await admin.http.post("/admin/groups", json={
        "name": group, "key_defaults": {"models": ["only-this-one"], "requests_per_minute": 2}})
    assert created.status_code == 201, created.text
    assert created.json()["key_defaults"] == {"models": ["only-this-one"], "requests_per_minute": 2}
    client = await make_client(quota=100, group=group)
    refused = await client.http.post(f"/pass/{model}", json={})
    assert (refused.status_code, refused.json()["code"]) == (403, "model_not_allowed")

    own = await admin.http.post(f"/admin/users/{client.user_id}/api-keys",
                                json={"name": "own", "models": [model], "requests_per_minute": 100})
    assert own.status_code == 201, own.text
    headers = {"Authorization": f"Bearer {own.json()['key']}"}
    answers = [await client.http.post(f"/pass/{model}", json={}, headers=headers) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]  # the key's own 100 rpm, not the group's 2

    await admin.http.put(f"/admin/groups/{group}", json={"key_defaults": {"requests_per_minute": 2}})
    inherited = [await client.http.post(f"/pass/{model}", json={}) for _ in range(3)]
    assert [a.status_code for a in inherited] == [200, 200, 429]
    assert inherited[2].json()["code"] == "rate_limited"
