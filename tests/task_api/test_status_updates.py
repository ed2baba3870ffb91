"""`PUT /api/task/{taskId}/status`, the internal route: who may call it, the legal transitions,
settlement of each end (a failure refunds the hold), and races between concurrent updates."""
from __future__ import annotations

import asyncio

import httpx
import pytest

from shared.ledger.invariants import wallet_violations
from tests.harness.settled import assert_one_log, settled_task
from tests.task_api.conftest import PRICE, SERVICE_TOKEN
from tests.task_api.test_task_api import IMAGE, refused, task_view


@pytest.fixture
async def internal(task_stack):
    async with httpx.AsyncClient(base_url=task_stack.gateway_url, timeout=30,
                                 headers={"Authorization": f"Bearer {SERVICE_TOKEN}"}) as http:
        yield http


@pytest.fixture
async def pending_task(task_type, task_user):
    """A typed task nobody polls (its channel's poll interval is an hour): pending until told."""
    async def create(quota: int = 100):
        name = await task_type(poll_interval_s=3600)
        user = await task_user(quota=quota)
        return user, (await user.create(name, IMAGE)).json()["data"]["taskId"]
    return create


async def put(http: httpx.AsyncClient, task_id: str, **body) -> httpx.Response:
    return await http.put(f"/api/task/{task_id}/status", json=body)


async def test_only_internal_callers_may_update_a_status(pending_task, task_stack):
    user, task_id = await pending_task()
    refused(await put(user.http, task_id, status="processing"), 401, 4003)  # the owner's API key
    async with httpx.AsyncClient(base_url=task_stack.gateway_url, timeout=30) as anonymous:
        refused(await put(anonymous, task_id, status="processing"), 401, 4003)
    async with httpx.AsyncClient(base_url=task_stack.gateway_url, timeout=30,
                                 headers={"Authorization": f"Bearer {task_stack.admin_token}"}) as admin:
        started = await put(admin, task_id, status="processing")
    assert started.status_code == 200 and started.json()["success"] is True, started.text
    assert (await task_view(user.http, task_id))["status"] == "processing"


async def test_a_service_completes_a_task_with_its_result_urls_and_it_is_charged(
        pending_task, internal, task_admin, task_db):
    user, task_id = await pending_task()
    refused(await put(internal, task_id, status="success", resultUrls=["https://cdn.example/x.png"]), 409,
            "illegal_transition")  # pending must start first
    assert (await put(internal, task_id, status="processing")).status_code == 200
    refused(await put(internal, task_id, status="pending"), 409, "illegal_transition")
    done = await put(internal, task_id, status="success", resultUrls=["https://cdn.example/x.png"])
    assert done.status_code == 200, done.text
    assert done.json()["data"]["status"] == "success"
    await settled_task(task_db, task_id)
    view = await task_view(user.http, task_id)
    assert view["resultUrls"] == ["https://cdn.example/x.png"] and view["completedAt"]
    await assert_one_log(task_db, task_id, "SUCCESS", PRICE)
    for status in ("processing", "success", "failed", "pending"):
        refused(await put(internal, task_id, status=status), 409, "task_finished")
    assert (await task_admin.wallet(user.user_id))["used"] == PRICE


async def test_a_failure_reported_by_a_service_refunds_the_hold(pending_task, internal, task_admin, task_db):
    user, task_id = await pending_task()
    assert (await task_admin.wallet(user.user_id))["held"] == PRICE
    refused(await put(internal, task_id, status="failed"), 409, "illegal_transition")
    assert (await put(internal, task_id, status="processing")).status_code == 200
    failed = await put(internal, task_id, status="failed", errorMessage="model crashed")
    assert failed.status_code == 200, failed.text
    await settled_task(task_db, task_id)
    view = await task_view(user.http, task_id)
    assert view["status"] == "failed" and view["errorMessage"] == "model crashed"
    await assert_one_log(task_db, task_id, "FAILURE", 0)
    assert await task_admin.wallet(user.user_id) == {"available": 100, "held": 0, "used": 0, "credited": 100,
                                                     "debt": 0}
    refused(await put(internal, task_id, status="success"), 409, "task_finished")


async def test_concurrent_updates_end_a_task_once(pending_task, internal, task_admin, task_db):
    user, task_id = await pending_task()
    assert (await put(internal, task_id, status="processing")).status_code == 200
    answers = await asyncio.gather(*(put(internal, task_id, status=status, errorMessage="x")
                                     for status in ("success", "failed") * 5))
    assert sorted(a.status_code for a in answers) == [200] + [409] * 9, [a.text for a in answers]
    await settled_task(task_db, task_id)
    assert await task_db.consumption_logs.count_documents({"task_id": task_id}) == 1
    wallet = await task_admin.wallet(user.user_id)
    assert wallet["held"] == 0 and wallet["used"] in (0, PRICE)
    assert await wallet_violations(task_db, user.user_id) == []


async def test_bad_updates_are_refused_with_seed_codes(pending_task, internal):
    _, task_id = await pending_task()
    refused(await put(internal, "task_missing", status="processing"), 404, 4004)
    refused(await put(internal, task_id, status="done"), 400, 4001)
    refused(await put(internal, task_id, status="success", resultUrls="not-a-list"), 400, 4001)
