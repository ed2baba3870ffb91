"""Live configuration: a channel, a group or an API key changed through one gateway is in force
on every gateway, poller and settlement process within a bound, without a restart. Gateways
serve configuration from memory for at most CONFIG_CACHE_TTL_S (shared/config_cache.py);
these tests pin the bound down across two gateway processes of one system."""
from __future__ import annotations

import secrets

import pytest

from tests.async_flow.conftest import Client, async_channel, make_client  # noqa: F401 (shared fixtures)
from tests.harness.api import CONFIG_IN_FORCE_WITHIN_S, AdminApi, eventually
from tests.harness.processes import ServiceProcess
from tools import devinfra

IN_FORCE_WITHIN_S = CONFIG_IN_FORCE_WITHIN_S  # a gateway that read configuration once and kept it fails


@pytest.fixture(scope="module")
def gateway_b(stack):
    """A second gateway process of the session's system."""
    port = devinfra.free_port()
    process = ServiceProcess("gateway_b", "services.gateway", port, {**stack.env, "GATEWAY_PORT": str(port)},
                             stack.log_dir)
    process.start().wait_ready()
    yield process.url
    process.kill()


@pytest.fixture
async def admin_b(gateway_b, stack):
    api = AdminApi(gateway_b, stack.admin_token)
    yield api
    await api.close()


async def held_after_submit(client: Client, admin_b: AdminApi, model: str) -> int:
    before = (await admin_b.wallet(client.user_id))["held"]
    response = await client.submit(model, {"mock": {"outcome": "never"}})
    assert response.status_code == 200, response.text
    return (await admin_b.wallet(client.user_id))["held"] - before


async def test_channel_created_and_repriced_on_one_gateway_serves_on_the_other(async_channel, admin, admin_b,
                                                                               make_client, gateway_b):
    model, channel = await async_channel()  # through gateway A, per_call price 10
    client = await make_client(quota=1000, base_url=gateway_b)

    async def served_on_b():
        return (await client.submit(model, {"mock": {"outcome": "never"}})).status_code == 200
    await eventually(served_on_b, timeout=IN_FORCE_WITHIN_S)
    assert await held_after_submit(client, admin_b, model) == 10

    assert (await admin.http.put(f"/admin/channels/{channel['id']}",
                                 json={"billing": {"mode": "per_call", "price": 25}})).status_code == 200

    async def repriced_on_b():
        return await held_after_submit(client, admin_b, model) == 25
    await eventually(repriced_on_b, timeout=IN_FORCE_WITHIN_S)


async def test_channel_disabled_on_one_gateway_stops_the_other_and_the_poller(async_channel, admin, make_client,
                                                                             gateway_b, mongo_db):
    model, channel = await async_channel(billing={"mode": "per_call", "price": 7})
    client = await make_client(quota=100, base_url=gateway_b)
    in_flight = await client.submit(model, {"mock": {"outcome": "never"}})
    assert in_flight.status_code == 200, in_flight.text

    assert (await admin.http.put(f"/admin/channels/{channel['id']}", json={"enabled": False})).status_code == 200

    async def refused_on_b():
        response = await client.submit(model, {"mock": {"outcome": "never"}})
        return response.status_code == 404 and response.json()["code"] == "model_not_found"
    await eventually(refused_on_b, timeout=IN_FORCE_WITHIN_S)

    async def failed_and_refunded():  # the poller sees the disabled channel on its next sweep
        task = await mongo_db.tasks.find_one({"_id": in_flight.json()["task_id"]})
        return task["status"] == "FAILURE" and task.get("settled") and task["fail_reason"] == "channel_unavailable"
    await eventually(failed_and_refunded, timeout=IN_FORCE_WITHIN_S + 10)

    async def all_refunded():  # B may accept work within the bound: the poller fails that too
        return await admin.wallet(client.user_id) == {"available": 100, "held": 0, "used": 0, "credited": 100,
                                                      "debt": 0}
    await eventually(all_refunded, timeout=IN_FORCE_WITHIN_S + 10)


async def test_group_ratio_changed_on_one_gateway_prices_the_next_call_on_the_other(async_channel, admin, admin_b,
                                                                                   make_client, gateway_b):
    group = f"live-{secrets.token_hex(3)}"
    assert (await admin.http.post("/admin/groups", json={"name": group, "price_ratio": 1})).status_code == 201
    model, _ = await async_channel()  # per_call price 10
    client = await make_client(quota=1000, base_url=gateway_b, group=group)
    assert await held_after_submit(client, admin_b, model) == 10
    assert (await admin.http.put(f"/admin/groups/{group}", json={"price_ratio": "0.5"})).status_code == 200

    async def discounted_on_b():
        return await held_after_submit(client, admin_b, model) == 5
    await eventually(discounted_on_b, timeout=IN_FORCE_WITHIN_S)


async def test_key_disabled_on_one_gateway_is_refused_by_the_other(async_channel, admin, make_client, gateway_b):
    model, _ = await async_channel()
    client = await make_client(quota=1000, base_url=gateway_b)
    assert (await client.submit(model, {"mock": {"outcome": "never"}})).status_code == 200  # B has read the key
    key_id = (await client.http.get("/api/key")).json()["id"]
    changed = await admin.http.patch(f"/admin/users/{client.user_id}/api-keys/{key_id}", json={"enabled": False})
    assert changed.status_code == 200, changed.text

    async def refused_on_b():
        response = await client.http.get("/api/wallet")
        return response.status_code == 401 and response.json()["code"] == "key_disabled"
    await eventually(refused_on_b, timeout=IN_FORCE_WITHIN_S)
