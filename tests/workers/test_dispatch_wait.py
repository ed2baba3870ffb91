"""`Prefer: wait` on an async `POST /api/openai` (`services/gateway/prefer_wait.py`): the answer
comes once a worker finished the task, as `GET /api/task/{taskId}` shows it, or after N seconds."""
from __future__ import annotations

import asyncio


async def test_an_async_dispatch_with_prefer_wait_answers_the_workers_result(worker_group, connect_worker,
                                                                           dispatch_client, settled):
    group, token = await worker_group()
    worker = await connect_worker(group, token)
    _, client = await dispatch_client()
    call = asyncio.create_task(client.post("/api/openai", json={"data": {"n": 1}, "group": group, "async": True},
                                           headers={"Prefer": "wait=30"}))
    await worker.complete(await worker.next_task(), {"url": "https://x/1.png"})
    response = await call
    assert response.status_code == 200, response.text
    assert response.headers["Preference-Applied"] == "wait=30"
    answer = response.json()
    assert answer["status"] == "completed" and answer["result"] == {"url": "https://x/1.png"}, answer
    await settled(answer["taskId"])


async def test_an_async_dispatch_wait_that_times_out_answers_the_queued_task(worker_group, connect_worker,
                                                                           dispatch_client):
    group, token = await worker_group()
    await connect_worker(group, token, ready=False)  # online, never takes work
    _, client = await dispatch_client()
    response = await client.post("/api/openai", json={"data": {}, "group": group, "async": True},
                                 headers={"Prefer": "wait=1"})
    assert response.status_code == 200 and response.headers["Preference-Applied"] == "wait=1"
    assert response.json()["status"] == "queued"
