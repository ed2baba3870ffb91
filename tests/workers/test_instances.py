"""Two gateway processes share one queue in MongoDB: a worker on one takes what was submitted
on the other, and the sync caller there gets the result."""
from __future__ import annotations

import asyncio

from tests.workers.conftest import PRICE


async def test_a_sync_caller_on_b_gets_the_result_of_a_worker_on_a(
        worker_group, connect_worker, dispatch_client, dispatch_admin, settled):
    group, token = await worker_group()
    worker = await connect_worker(group, token, gateway="gateway")
    user_id, client_b = await dispatch_client(gateway="gateway_b")
    call = asyncio.create_task(client_b.post("/api/openai", json={"data": {"via": "b"}, "group": group}))
    task = await worker.next_task()
    await worker.complete(task, "from a")
    response = await call
    assert response.status_code == 200, response.text
    assert response.json()["result"] == "from a"
    await settled(task["taskId"])
    assert (await dispatch_admin.wallet(user_id))["used"] == PRICE


async def test_workers_on_both_instances_drain_one_queue_once_each(worker_group, connect_worker, dispatch_client):
    group, token = await worker_group(billing={"mode": "free"})
    workers = [await connect_worker(group, token, gateway=g) for g in ("gateway", "gateway_b")]
    _, client = await dispatch_client(gateway="gateway_b")
    submitted = [(await client.post("/api/openai", json={"data": {"n": n}, "group": group, "async": True})).json()
                 for n in range(6)]
    taken: list[str] = []

    async def serve(worker) -> None:
        while len(taken) < len(submitted):
            try:
                task = await worker.next_task(timeout=2)
            except TimeoutError:
                continue
            taken.append(task["taskId"])
            await worker.complete(task, worker.id)
    await asyncio.wait_for(asyncio.gather(*(serve(w) for w in workers)), 30)
    assert sorted(taken) == sorted(t["taskId"] for t in submitted)  # each exactly once
    for view in submitted:
        final = (await client.get(f"/api/task/{view['taskId']}")).json()
        assert final["status"] == "completed" and final["result"] in {w.id for w in workers}
