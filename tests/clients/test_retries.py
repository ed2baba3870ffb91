"""The SDK's automatic retry after a connection dropped once the gateway had taken the submit:
the retry carries the same Idempotency-Key, so there is still exactly one task and one hold."""
from __future__ import annotations

from custompass import AsyncClient, RetryPolicy
from tests.async_flow.conftest import IMAGE_URL, complete_next_task
from tests.clients.dropping_proxy import DroppingProxy
from tests.harness.api import eventually


async def test_a_retry_after_a_dropped_answer_makes_one_task_and_one_hold(async_channel, caller, admin,
                                                                          mongo_db, stack):
    model, _ = await async_channel()
    me = await caller(quota=100)
    async with DroppingProxy(stack.gateway_url, drop_first=1) as proxy:
        async with AsyncClient(proxy.url, me.key, retry=RetryPolicy(base_delay=0.05)) as client:
            task = await client.submit(model, {"prompt": "exactly once"})
            done = await client.wait(task.task_id, timeout=60, poll_interval=0.1)
    assert proxy.dropped == 1 and proxy.connections >= 2  # the first answer was lost, then retried
    assert done.task_id == task.task_id and done.status == "completed"
    tasks = await mongo_db.tasks.find({"user_id": me.user_id}).to_list(None)
    assert [t["_id"] for t in tasks] == [task.task_id]
    holds = await mongo_db.holds.find({"user_id": me.user_id}).to_list(None)
    assert len(holds) == 1

    async def settled_once():
        return (await admin.wallet(me.user_id))["held"] == 0
    await eventually(settled_once, timeout=30)
    assert await admin.wallet(me.user_id) == {"available": 90, "held": 0, "used": 10, "credited": 100, "debt": 0}
    assert await mongo_db.consumption_logs.count_documents({"user_id": me.user_id}) == 1


async def test_a_typed_task_retried_after_a_dropped_answer_is_one_task_and_one_hold(typed_task, caller, mongo_db,
                                                                                    stack):
    name = await typed_task()
    me = await caller(quota=100)
    async with DroppingProxy(stack.gateway_url, drop_first=1) as proxy:
        async with AsyncClient(proxy.url, me.key, retry=RetryPolicy(base_delay=0.05)) as client:
            task = await client.submit_task(name, IMAGE_URL)
    assert proxy.dropped == 1 and proxy.connections >= 2
    assert [t["_id"] for t in await mongo_db.tasks.find({"user_id": me.user_id}).to_list(None)] == [task.task_id]
    assert await mongo_db.holds.count_documents({"user_id": me.user_id}) == 1


async def test_a_dispatch_retried_after_a_dropped_answer_is_one_task_and_one_hold(ready_worker, caller, mongo_db,
                                                                                 stack):
    group, worker = await ready_worker()
    me = await caller(quota=100)
    async with DroppingProxy(stack.gateway_url, drop_first=1) as proxy:
        async with AsyncClient(proxy.url, me.key, retry=RetryPolicy(base_delay=0.05)) as client:
            task = await client.dispatch({"n": 1}, group=group)
            assert task.status in ("queued", "executing") and not task.terminal
            assert await complete_next_task(worker, {"url": "https://x/1.png"}) == task.task_id
            done = await client.wait(task.task_id, timeout=30, poll_interval=0.1)
    assert proxy.dropped == 1 and proxy.connections >= 2
    assert done.status == "completed" and done.result == {"url": "https://x/1.png"}
    assert [t["_id"] for t in await mongo_db.tasks.find({"user_id": me.user_id}).to_list(None)] == [task.task_id]
    assert await mongo_db.holds.count_documents({"user_id": me.user_id}) == 1
