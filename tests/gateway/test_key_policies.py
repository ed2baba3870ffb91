"""API key policies over two gateway processes sharing one database: requests per minute, tasks
in flight, model allow-lists, a key's quota limit, expiry and disabling, for a key and for all
of a user's keys together. Every refusal places no hold and leaves no task."""
from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.async_flow.conftest import async_channel  # noqa: F401 (shared fixture)
from tests.conftest import ARTIFACTS
from tests.harness.api import AdminApi, CONFIG_IN_FORCE_WITHIN_S, assert_sound_wallet, eventually
from tests.harness.stack import SERVICES, Stack
from tests.sync_pass.conftest import sync_channel  # noqa: F401 (shared fixture)

NEVER = {"mock": {"outcome": "never"}}
# 300 submits at once queue behind one another on a busy shared 2-core machine (minutes, not
# seconds); still under the suite's 300 s per-test timeout.
CALL_TIMEOUT_S = 240


@pytest.fixture(scope="module")
def stack(infra):
    """This module's own system, with a second gateway process on the same database and broker.
    Billing may take its time: 300 holds at once on a busy 2-core machine outlast the default
    5 s reply timeout, and the tests count refusals, which a timeout would blur."""
    system = Stack(infra, ARTIFACTS, services=SERVICES, extra_env={"HOLD_REPLY_TIMEOUT_S": "60"}).start()
    try:  # a second gateway that fails to start must not leave the first ones running
        system.add("gateway_b", "gateway")
        yield system
    finally:
        system.stop()


@pytest.fixture(scope="module")
def gateways(stack):
    return stack.gateway_url, stack["gateway_b"].url


async def new_key(admin: AdminApi, user_id: str, **limits) -> tuple[str, str]:
    response = await admin.http.post(f"/admin/users/{user_id}/api-keys", json={"name": "k", **limits})
    assert response.status_code == 201, response.text
    return response.json()["id"], response.json()["key"]


@contextlib.asynccontextmanager
async def clients(gateways, key: str):
    """One client per gateway, both sending `key`."""
    async with contextlib.AsyncExitStack() as stack:
        yield [await stack.enter_async_context(httpx.AsyncClient(
            base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=CALL_TIMEOUT_S)) for url in gateways]


def by_status(responses: list[httpx.Response]) -> dict[int, list[httpx.Response]]:
    grouped: dict[int, list[httpx.Response]] = {}
    for response in responses:
        grouped.setdefault(response.status_code, []).append(response)
    return grouped


def codes(responses: list[httpx.Response]) -> set:
    return {r.json()["code"] for r in responses}


async def all_settled(mongo_db, user_id: str) -> None:
    async def done():
        tasks = await mongo_db.tasks.find({"user_id": user_id}, {"settled": 1}).to_list(None)
        return all(t.get("settled") for t in tasks)
    await eventually(done, timeout=60)
    await assert_sound_wallet(mongo_db, user_id)


async def test_requests_per_minute_hold_across_two_gateways_under_concurrent_load(
        admin, gateways, sync_channel, mongo_db):  # noqa: F811
    model, _ = await sync_channel(billing={"mode": "per_call", "price": 1})
    user_id = await admin.create_user(quota=1000)
    key_id, key = await new_key(admin, user_id, requests_per_minute=60)
    async with clients(gateways, key) as both:
        responses = await asyncio.gather(*(both[i % 2].post(f"/pass/{model}", json={"prompt": "hi"})
                                           for i in range(200)))
    grouped = by_status(responses)
    assert set(grouped) == {200, 429}
    assert len(grouped[200]) == 60 and len(grouped[429]) == 140
    assert codes(grouped[429]) == {"rate_limited"}
    assert all(1 <= int(r.headers["retry-after"]) <= 60 for r in grouped[429])
    assert await mongo_db.tasks.count_documents({"key_id": key_id}) == 60  # refusals opened nothing
    await all_settled(mongo_db, user_id)
    assert (await admin.wallet(user_id))["used"] == 60


async def test_tasks_in_flight_are_capped_across_two_gateways_and_a_finished_task_frees_its_slot(
        admin, gateways, async_channel, mongo_db):  # noqa: F811
    model, _ = await async_channel(billing={"mode": "per_call", "price": 1}, task_lifetime_s=60)
    user_id = await admin.create_user(quota=100)
    key_id, key = await new_key(admin, user_id, max_in_flight=4)
    async with clients(gateways, key) as both:
        for i in range(3):
            assert (await both[i % 2].post(f"/pass/{model}/submit", json=NEVER)).status_code == 200
        finishing = await both[1].post(f"/pass/{model}/submit", json={"mock": {"polls_before_done": 25}})
        assert finishing.status_code == 200, finishing.text
        burst = await asyncio.gather(*(both[i % 2].post(f"/pass/{model}/submit", json=NEVER) for i in range(20)))
        assert {r.status_code for r in burst} == {429}
        assert codes(burst) == {"too_many_in_flight"}
        assert await mongo_db.tasks.count_documents({"key_id": key_id}) == 4
        assert (await admin.wallet(user_id))["held"] == 4

        async def admitted_again():
            return (await both[0].post(f"/pass/{model}/submit", json=NEVER)).status_code == 200
        await eventually(admitted_again, timeout=30, interval=0.5)  # once the finishing task completed
    task = await mongo_db.tasks.find_one({"_id": finishing.json()["task_id"]})
    assert task["status"] == "SUCCESS"
    assert await mongo_db.tasks.count_documents({"key_id": key_id, "status": {"$ne": "SUCCESS"}}) == 4


async def test_a_key_quota_limit_holds_under_300_concurrent_submits_while_other_keys_keep_spending(
        admin, gateways, async_channel, mongo_db):  # noqa: F811
    model, _ = await async_channel(billing={"mode": "per_call", "price": 1})
    user_id = await admin.create_user(quota=1000)
    capped_id, capped = await new_key(admin, user_id, quota_limit=50)
    _, other = await new_key(admin, user_id)
    async with clients(gateways, capped) as both:
        responses = await asyncio.gather(*(both[i % 2].post(f"/pass/{model}/submit", json={"prompt": str(i)})
                                           for i in range(300)))
        grouped = by_status(responses)
        assert set(grouped) == {200, 402}
        assert len(grouped[200]) == 50
        assert codes(grouped[402]) == {"key_quota_exceeded"}
        assert await mongo_db.tasks.count_documents({"key_id": capped_id}) == 50
    async with clients(gateways, other) as both:
        assert (await both[1].post(f"/pass/{model}/submit", json={"prompt": "other"})).status_code == 200
    await all_settled(mongo_db, user_id)
    assert (await admin.wallet(user_id))["used"] == 51
    async with clients(gateways, capped) as both:
        usage = (await both[0].get("/api/key")).json()
        assert (usage["quota_limit"], usage["quota_spent"], usage["quota_left"]) == (50, 50, 0)
        refused = await both[1].post(f"/pass/{model}/submit", json={"prompt": "more"})
        assert (refused.status_code, refused.json()["code"]) == (402, "key_quota_exceeded")


async def test_expiry_and_disabling_apply_on_every_gateway_within_seconds(admin, gateways):
    user_id = await admin.create_user(quota=10)
    key_id, key = await new_key(admin, user_id)
    path = f"/admin/users/{user_id}/api-keys/{key_id}"
    async with clients(gateways, key) as both:
        async def answers() -> list[tuple[int, object]]:
            responses = [await client.get("/api/wallet") for client in both]
            return [(r.status_code, r.json().get("code")) for r in responses]
        assert await answers() == [(200, None)] * 2
        soon = datetime.now(UTC) + timedelta(seconds=2)
        assert (await admin.http.patch(path, json={"expires_at": soon.isoformat()})).status_code == 200

        async def expired():
            return await answers() == [(401, "key_expired")] * 2
        await eventually(expired, timeout=10)
        for change, answer in (({"expires_at": None}, (200, None)), ({"enabled": False}, (401, "key_disabled")),
                               ({"enabled": True}, (200, None))):
            assert (await admin.http.patch(path, json=change)).status_code == 200

            async def in_force(answer=answer):
                return await answers() == [answer] * 2
            await eventually(in_force, timeout=CONFIG_IN_FORCE_WITHIN_S)


async def test_a_model_outside_the_allow_list_is_403_and_holds_nothing(
        admin, gateways, async_channel, sync_channel, mongo_db):  # noqa: F811
    model, _ = await async_channel()
    sync_model, _ = await sync_channel()
    user_id = await admin.create_user(quota=100)
    key_id, key = await new_key(admin, user_id, models=[f"{model}/submit"])
    async with clients(gateways, key) as both:
        assert (await both[0].post(f"/pass/{model}/submit", json={"prompt": "ok"})).status_code == 200
        refused = await both[1].post(f"/pass/{sync_model}", json={"prompt": "no"})
        assert (refused.status_code, refused.json()["code"]) == (403, "model_not_allowed")
        response = await admin.http.patch(f"/admin/users/{user_id}", json={"models": [sync_model]})
        assert response.status_code == 200 and response.json()["models"] == [sync_model]
        refused = await both[0].post(f"/pass/{model}/submit", json={"prompt": "no"})  # the user's list applies too
        assert (refused.status_code, refused.json()["code"]) == (403, "model_not_allowed")
    assert await mongo_db.tasks.count_documents({"key_id": key_id}) == 1
    wallet = await admin.wallet(user_id)  # one read: the task may settle between two (held -> used)
    assert wallet["held"] + wallet["used"] == 10


async def test_a_users_limits_count_all_their_keys_together(admin, gateways, async_channel, mongo_db):  # noqa: F811
    model, _ = await async_channel(billing={"mode": "per_call", "price": 1}, task_lifetime_s=60)
    user_id = await admin.create_user(quota=100, requests_per_minute=3)
    keys = [(await new_key(admin, user_id))[1] for _ in range(2)]
    statuses = []
    for key in keys:
        async with clients(gateways, key) as both:
            for client in both:
                statuses.append((await client.post(f"/pass/{model}/submit", json=NEVER)).status_code)
    assert sorted(statuses) == [200, 200, 200, 429]
    async with clients(gateways, keys[1]) as both:
        usage = (await both[0].get("/api/key")).json()
    assert usage["user"]["requests_per_minute"]["left"] == 0
    assert usage["key"]["requests_per_minute"] is None
    assert await mongo_db.tasks.count_documents({"user_id": user_id}) == 3


async def test_get_api_key_shows_the_keys_limits_and_what_is_left(admin, gateways, async_channel):  # noqa: F811
    model, _ = await async_channel(billing={"mode": "per_call", "price": 1}, task_lifetime_s=60)
    user_id = await admin.create_user(quota=100, max_in_flight=50)
    expires = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    key_id, key = await new_key(admin, user_id, requests_per_minute=10, max_in_flight=5, quota_limit=30,
                                models=[model], expires_at=expires.isoformat())
    async with clients(gateways, key) as both:
        for client in both:
            assert (await client.post(f"/pass/{model}/submit", json=NEVER)).status_code == 200
        usage = (await both[1].get("/api/key")).json()
    assert usage["id"] == key_id and datetime.fromisoformat(usage["expires_at"]) == expires
    assert (usage["quota_limit"], usage["quota_spent"], usage["quota_left"]) == (30, 2, 28)
    assert usage["key"]["requests_per_minute"]["limit"] == 10
    assert usage["key"]["requests_per_minute"]["left"] == 8
    assert 0 < usage["key"]["requests_per_minute"]["resets_in_s"] <= 60
    assert (usage["key"]["max_in_flight"], usage["key"]["in_flight"]) == (5, 2)
    assert usage["key"]["models"] == [model]
    assert (usage["user"]["max_in_flight"], usage["user"]["in_flight"]) == (50, 2)


async def test_admin_sets_changes_and_clears_a_keys_limits(admin):
    user_id = await admin.create_user()
    key_id, _ = await new_key(admin, user_id, requests_per_minute=60, quota_limit=500)
    path = f"/admin/users/{user_id}/api-keys/{key_id}"
    key = (await admin.http.get(path)).json()
    assert (key["requests_per_minute"], key["quota_limit"], key["max_in_flight"]) == (60, 500, None)
    changed = (await admin.http.patch(path, json={"max_in_flight": 3, "requests_per_minute": None})).json()
    assert (changed["requests_per_minute"], changed["quota_limit"], changed["max_in_flight"]) == (None, 500, 3)
    assert changed["enabled"] is True
    assert (await admin.http.get(path)).json() == changed
    unchanged = await admin.http.patch(path, json={})
    assert unchanged.status_code == 200 and unchanged.json() == changed


@pytest.mark.parametrize("body", [
    {"requests_per_minute": 0}, {"max_in_flight": -1}, {"quota_limit": -5}, {"quota_limit": 1.5},
    {"quota_limit": "10"}, {"quota_limit": 10**30}, {"models": "video-x"}, {"expires_at": "soon"},
    {"enabled": None}, {"name": None}, {"limits": {}},
])
async def test_invalid_key_limits_are_refused_and_change_nothing(admin, body):
    user_id = await admin.create_user()
    key_id, _ = await new_key(admin, user_id, requests_per_minute=5)
    path = f"/admin/users/{user_id}/api-keys/{key_id}"
    before = (await admin.http.get(path)).json()
    response = await admin.http.patch(path, json=body)
    assert response.status_code == 422 and response.json()["code"] == "invalid_request", response.text
    assert (await admin.http.get(path)).json() == before
