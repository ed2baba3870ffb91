"""Several channels serving one model: priority and weight choose, a failing channel hands the
call to the next before any byte reached the client, and one failing N times in a row cools
down. Two mock upstream processes play the two providers."""
from __future__ import annotations

import httpx
import pytest

from tests.sync_pass.conftest import TASK_ID_HEADER


@pytest.fixture
async def upstream_b(second_upstream):
    async with httpx.AsyncClient(base_url=second_upstream, timeout=10) as http:
        yield http


async def requests_to(mock: httpx.AsyncClient, model: str) -> list[dict]:
    return (await mock.get("/_mock/requests", params={"path_contains": f"/{model}"})).json()


async def two_channels(sync_channel, second_upstream, **primary):
    """`primary` (priority 10, on the second mock) and `backup` (priority 0, on the stack's mock)."""
    model, primary_channel = await sync_channel(base_url=second_upstream, priority=10, **primary)
    _, backup = await sync_channel(model=model, name=f"backup-{model}")
    return model, primary_channel, backup


async def test_a_failing_channel_hands_the_call_to_the_next(sync_channel, second_upstream, upstream_b, upstream,
                                                            make_client, admin, settled_call):
    model, primary, backup = await two_channels(sync_channel, second_upstream)
    await upstream_b.put(f"/_mock/scenarios/{model}", json={"outcome": "http_error", "http_status": 503})
    client = await make_client(quota=100)
    response = await client.http.post(f"/pass/{model}", json={"prompt": "p"})
    assert response.status_code == 200 and response.json()["data"]["echo"] == {"prompt": "p"}
    assert len(await requests_to(upstream_b, model)) == 1 and len(await requests_to(upstream, model)) == 1
    task, log = await settled_call(response)
    assert task["channel_id"] == log["channel_id"] == backup["id"]
    assert (log["hold"], log["quota"]) == (10, 10)
    assert (await admin.http.get(f"/admin/channels/{primary['id']}")).json()["consecutive_failures"] == 1


async def test_a_refusal_is_an_answer_not_a_reason_to_fail_over(sync_channel, second_upstream, upstream_b, upstream,
                                                               make_client, admin, settled_call):
    model, primary, _ = await two_channels(sync_channel, second_upstream)
    client = await make_client(quota=100)
    response = await client.http.post(f"/pass/{model}", json={"mock": {"outcome": "error", "error_code": 4001,
                                                                      "error_message": "bad prompt"}})
    assert response.status_code == 502 and response.json() == {"code": 4001, "message": "bad prompt"}
    assert await requests_to(upstream, model) == []
    task, log = await settled_call(response)
    assert task["status"] == "FAILURE" and log["refund"] == 10
    assert (await admin.http.get(f"/admin/channels/{primary['id']}")).json()["consecutive_failures"] == 0


async def test_a_channel_failing_n_times_in_a_row_cools_down_until_enabled_again(
        sync_channel, second_upstream, upstream_b, upstream, make_client, admin):
    model, primary, _ = await two_channels(sync_channel, second_upstream, failure_threshold=2, cooldown_s=600)
    await upstream_b.put(f"/_mock/scenarios/{model}", json={"outcome": "malformed"})
    client = await make_client(quota=100)
    for _ in range(4):
        assert (await client.http.post(f"/pass/{model}", json={})).status_code == 200
    assert len(await requests_to(upstream_b, model)) == 2  # the third and fourth calls skipped it
    assert len(await requests_to(upstream, model)) == 4
    cooling = (await admin.http.get(f"/admin/channels/{primary['id']}")).json()
    assert cooling["cooldown_until"] and cooling["consecutive_failures"] == 0

    await upstream_b.delete("/_mock/scenarios")
    assert (await admin.http.put(f"/admin/channels/{primary['id']}", json={"enabled": True})).status_code == 200
    response = await client.http.post(f"/pass/{model}", json={})
    assert response.status_code == 200 and len(await requests_to(upstream_b, model)) == 3


async def test_when_every_channel_cools_down_calls_are_refused_without_a_hold(sync_channel, make_client, admin,
                                                                              mongo_db, settled_call):
    model, channel = await sync_channel(base_url="http://127.0.0.1:9", failure_threshold=1, cooldown_s=600)
    client = await make_client(quota=100)
    first = await client.http.post(f"/pass/{model}", json={})
    assert first.status_code == 502 and first.json()["code"] == "upstream_unreachable"
    await settled_call(first)
    second = await client.http.post(f"/pass/{model}", json={})
    assert second.status_code == 503 and second.json()["code"] == "channels_cooling_down"
    assert TASK_ID_HEADER not in second.headers
    assert await mongo_db.tasks.count_documents({"user_id": client.user_id}) == 1
    assert (await admin.wallet(client.user_id))["available"] == 100


async def test_a_zero_weight_channel_is_only_a_spare(sync_channel, second_upstream, upstream_b, upstream, make_client):
    model, _ = await sync_channel(base_url=second_upstream, weight=0)
    await sync_channel(model=model, name=f"main-{model}", weight=5)
    client = await make_client(quota=100)
    for _ in range(5):
        assert (await client.http.post(f"/pass/{model}", json={})).status_code == 200
    assert len(await requests_to(upstream, model)) == 5 and await requests_to(upstream_b, model) == []


async def test_model_mapping_names_the_model_upstream(sync_channel, make_client, upstream, settled_call):
    model, _ = await sync_channel(model_mapping={})
    mapped, _ = await sync_channel(model=f"{model}-public", model_mapping={f"{model}-public": f"{model}-v2"})
    client = await make_client(quota=100)
    response = await client.http.post(f"/pass/{mapped}", json={})
    assert response.status_code == 200 and response.json()["data"]["model"] == f"{model}-v2"
    [record] = await requests_to(upstream, f"{model}-v2")
    assert record["path"] == f"/{model}-v2"
    task, log = await settled_call(response)
    assert log["model"] == mapped and task["upstream_model"] == f"{model}-v2"
