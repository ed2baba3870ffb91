"""Worker dispatch obeys the same rules as every billable path: the caller's API key policies
(checked before anything is held or queued) and the price ratio of the caller's user group."""
from __future__ import annotations

import asyncio
import secrets

from tests.workers.conftest import PRICE


async def test_a_model_outside_the_users_allow_list_is_403_and_queues_nothing(
        worker_group, connect_worker, dispatch_client, dispatch_admin, dispatch_db):
    group, token = await worker_group()
    worker = await connect_worker(group, token)
    user_id, client = await dispatch_client()
    limited = await dispatch_admin.http.patch(f"/admin/users/{user_id}", json={"models": ["another-model"]})
    assert limited.status_code == 200, limited.text
    response = await client.post("/api/openai", json={"data": {}, "group": group})
    assert (response.status_code, response.json()["code"]) == (403, "model_not_allowed")
    assert await dispatch_db.tasks.count_documents({"user_id": user_id}) == 0
    assert (await dispatch_admin.wallet(user_id))["held"] == 0
    assert await worker.receives_nothing(within=0.5)


async def test_a_worker_task_is_priced_at_the_callers_group_ratio(
        worker_group, connect_worker, dispatch_client, dispatch_admin, settled):
    ratio_group = f"half-{secrets.token_hex(3)}"
    created = await dispatch_admin.http.post("/admin/groups", json={"name": ratio_group, "price_ratio": "0.5"})
    assert created.status_code == 201, created.text
    group, token = await worker_group()
    worker = await connect_worker(group, token)
    user_id, client = await dispatch_client()
    assert (await dispatch_admin.http.patch(f"/admin/users/{user_id}", json={"group": ratio_group})).status_code == 200
    call = asyncio.create_task(client.post("/api/openai", json={"data": {}, "group": group}))
    task = await worker.next_task()
    await worker.complete(task, "done")
    assert (await call).status_code == 200
    log = await settled(task["taskId"])
    assert (log["hold"], log["quota"], log["price_ratio"]) == (PRICE // 2, PRICE // 2, "0.5")
