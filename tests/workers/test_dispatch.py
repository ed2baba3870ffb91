"""`POST /api/openai` and `GET /api/task/{taskId}` with real workers: results, queue order and
positions, every failure of the seed's table, and the money of each outcome (one log each)."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.harness.api import eventually
from tests.workers.conftest import Worker
from tests.workers.conftest import MAX_QUEUE_LENGTH, PRICE, RESULT_TTL_MS

FULL = {"available": 100 - PRICE, "held": 0, "used": PRICE, "credited": 100, "debt": 0}
REFUNDED = {"available": 100, "held": 0, "used": 0, "credited": 100, "debt": 0}


@dataclass
class TakenCall:
    """A sync call in flight whose task a worker has just received."""
    user_id: str
    client: httpx.AsyncClient
    worker: Worker
    call: asyncio.Task[httpx.Response]
    task: dict[str, Any]


@pytest.fixture
def taken_sync_call(worker_group, connect_worker, dispatch_client):
    async def start(**body: Any) -> TakenCall:
        group, token = await worker_group()
        worker = await connect_worker(group, token)
        user_id, client = await dispatch_client()
        call = asyncio.create_task(client.post("/api/openai", json={"data": {}, "group": group, **body}))
        return TakenCall(user_id, client, worker, call, await worker.next_task())
    return start


async def test_sync_task_answers_the_workers_result_and_charges_the_price(taken_sync_call, dispatch_admin, settled):
    taken = await taken_sync_call(data={"prompt": "a cat"})
    task = taken.task
    assert task["payload"] == {"model": "default", "messages": None, "data": {"prompt": "a cat"}}
    await taken.worker.complete(task, {"success": True, "data": "done"})
    response = await taken.call
    assert response.status_code == 200, response.text
    assert response.json() == {"taskId": task["taskId"], "status": "completed",
                               "result": {"success": True, "data": "done"}}
    log = await settled(task["taskId"])
    assert (log["hold"], log["quota"], log["refund"], log["status"]) == (PRICE, PRICE, 0, "SUCCESS")
    assert await dispatch_admin.wallet(taken.user_id) == FULL


async def test_openai_messages_reach_the_worker_with_the_model(worker_group, connect_worker, dispatch_client):
    group, token = await worker_group(billing={"mode": "free"})
    worker = await connect_worker(group, token)
    _, client = await dispatch_client()
    messages = [{"role": "user", "content": "Hello!"}]
    call = asyncio.create_task(client.post("/api/openai", json={"model": "gpt-4", "messages": messages,
                                                                 "group": group}))
    task = await worker.next_task()
    assert task["payload"] == {"model": "gpt-4", "messages": messages, "data": None}
    await worker.complete(task, {"choices": []})
    assert (await call).status_code == 200


async def test_async_task_is_queued_then_executing_then_completed(
        worker_group, connect_worker, dispatch_client, dispatch_admin, settled):
    group, token = await worker_group()
    user_id, client = await dispatch_client()
    worker = await connect_worker(group, token, ready=False)
    response = await client.post("/api/openai", json={"data": {"n": 1}, "group": group, "async": True})
    assert response.status_code == 200, response.text
    task_id = response.json()["taskId"]
    assert response.json() == {"taskId": task_id, "status": "queued"}
    queued = (await client.get(f"/api/task/{task_id}")).json()
    assert queued["status"] == "queued" and queued["position"] == 0 and queued["enqueuedAt"] > 0
    await worker.send({"type": "ready"})
    task = await worker.next_task()
    executing = (await client.get(f"/api/task/{task_id}")).json()
    assert executing["status"] == "executing" and executing["workerId"] == worker.id and executing["startedAt"] > 0
    await worker.complete(task, {"url": "https://x/1.png"})

    async def completed():
        view = (await client.get(f"/api/task/{task_id}")).json()
        return view if view["status"] == "completed" else None
    view = await eventually(completed, timeout=10)
    assert view["result"] == {"url": "https://x/1.png"} and view["completedAt"] >= executing["startedAt"]
    await settled(task_id)
    assert await dispatch_admin.wallet(user_id) == FULL


async def test_queue_positions_decrease_as_the_worker_finishes_oldest_first(
        worker_group, connect_worker, dispatch_client):
    group, token = await worker_group(billing={"mode": "free"})
    _, client = await dispatch_client()
    worker = await connect_worker(group, token, ready=False)
    ids = []
    for n in range(3):
        response = await client.post("/api/openai", json={"data": {"n": n}, "group": group, "async": True})
        ids.append(response.json()["taskId"])
    assert [(await client.get(f"/api/task/{i}")).json()["position"] for i in ids] == [0, 1, 2]
    await worker.send({"type": "ready"})
    for n in range(3):
        task = await worker.next_task()
        assert task["taskId"] == ids[n]  # oldest first, one at a time
        waiting = [(await client.get(f"/api/task/{i}")).json() for i in ids[n + 1:]]
        assert [v["position"] for v in waiting] == list(range(len(waiting)))
        await worker.complete(task, n)


async def test_a_worker_error_fails_the_task_and_refunds_in_full(taken_sync_call, dispatch_admin, settled):
    taken = await taken_sync_call()
    task = taken.task
    await taken.worker.fail(task, "GPU out of memory")
    response = await taken.call
    assert response.status_code == 502
    assert response.json() == {"code": "worker_error", "message": "GPU out of memory", "error": "GPU out of memory",
                               "taskId": task["taskId"]}
    failed = (await taken.client.get(f"/api/task/{task['taskId']}")).json()
    assert failed["status"] == "failed" and failed["error"] == "GPU out of memory" and failed["failedAt"] > 0
    log = await settled(task["taskId"])
    assert (log["quota"], log["refund"], log["fail_reason"]) == (0, PRICE, "worker_error")
    assert await dispatch_admin.wallet(taken.user_id) == REFUNDED


async def test_a_sync_task_past_its_timeout_is_a_500_task_timeout_and_refunded(
        taken_sync_call, dispatch_admin, settled):
    taken = await taken_sync_call(timeout=1000)
    worker, task = taken.worker, taken.task  # and the worker never answers in time
    response = await taken.call
    assert response.status_code == 500
    assert response.json()["error"] == "Task timeout" and response.json()["code"] == "task_timeout"
    log = await settled(task["taskId"])
    assert (log["quota"], log["refund"], log["fail_reason"]) == (0, PRICE, "timeout")
    await worker.complete(task, "too late")  # ignored: the task is over
    await worker.send({"type": "ping"})
    assert (await worker.receive())["type"] == "pong"
    assert await dispatch_admin.wallet(taken.user_id) == REFUNDED


async def test_an_async_task_nobody_takes_is_failed_at_its_deadline_by_the_poller(
        worker_group, connect_worker, dispatch_client, dispatch_admin, settled):
    group, token = await worker_group()
    await connect_worker(group, token, ready=False)  # online, never ready
    user_id, client = await dispatch_client()
    response = await client.post("/api/openai", json={"data": {}, "group": group, "timeout": 1000, "async": True})
    task_id = response.json()["taskId"]
    log = await settled(task_id)
    assert (log["refund"], log["fail_reason"]) == (PRICE, "timeout")
    view = (await client.get(f"/api/task/{task_id}")).json()
    assert view["status"] == "failed" and view["error"] == "Task timeout"
    assert await dispatch_admin.wallet(user_id) == REFUNDED


async def test_a_worker_disconnecting_mid_task_fails_it_and_refunds(taken_sync_call, dispatch_admin, settled):
    taken = await taken_sync_call()
    await taken.worker.socket.close()
    response = await taken.call
    assert response.status_code == 500
    assert response.json()["error"] == "Worker disconnected" and response.json()["code"] == "worker_disconnected"
    log = await settled(taken.task["taskId"])
    assert (log["refund"], log["fail_reason"]) == (PRICE, "worker_disconnected")
    assert await dispatch_admin.wallet(taken.user_id) == REFUNDED


async def test_no_worker_online_is_a_503_and_holds_nothing(worker_group, dispatch_client, dispatch_admin, dispatch_db):
    group, _ = await worker_group()
    user_id, client = await dispatch_client()
    response = await client.post("/api/openai", json={"data": {}, "group": group})
    assert response.status_code == 503
    assert response.json() == {"code": "no_worker_available", "message": "No worker available",
                               "error": "No worker available"}
    assert await dispatch_db.tasks.count_documents({"user_id": user_id}) == 0
    assert await dispatch_admin.wallet(user_id) == REFUNDED


async def test_a_full_queue_is_a_503(worker_group, connect_worker, dispatch_client):
    group, token = await worker_group(billing={"mode": "free"})
    await connect_worker(group, token, ready=False)
    _, client = await dispatch_client()
    body = {"data": {}, "group": group, "async": True, "timeout": 30_000}  # still queued when the queue is full
    for _ in range(MAX_QUEUE_LENGTH):
        assert (await client.post("/api/openai", json=body)).status_code == 200
    response = await client.post("/api/openai", json=body)
    assert response.status_code == 503 and response.json()["error"] == "Queue is full"


async def test_a_worker_of_another_group_gets_nothing(worker_group, connect_worker, dispatch_client):
    group_a, token_a = await worker_group(billing={"mode": "free"})
    group_b, token_b = await worker_group(billing={"mode": "free"})
    worker_a = await connect_worker(group_a, token_a)
    worker_b = await connect_worker(group_b, token_b)
    _, client = await dispatch_client()
    call = asyncio.create_task(client.post("/api/openai", json={"data": {"for": "b"}, "group": group_b}))
    task = await worker_b.next_task()
    assert task["payload"]["data"] == {"for": "b"}
    await worker_b.complete(task, "b")
    assert (await call).status_code == 200
    assert await worker_a.receives_nothing(within=0.5)


async def test_bad_requests_are_answered_without_a_task(worker_group, dispatch_client, dispatch_db):
    group, _ = await worker_group()
    user_id, client = await dispatch_client()
    missing = await client.post("/api/openai", json={"group": group})
    assert missing.status_code == 400
    assert missing.json()["error"] == "Invalid request: data or messages required"
    for timeout in (999, 600_001):
        out_of_range = await client.post("/api/openai", json={"data": {}, "group": group, "timeout": timeout})
        assert out_of_range.status_code == 400 and out_of_range.json()["code"] == "invalid_timeout"
    unknown = await client.post("/api/openai", json={"data": {}, "group": "no-such-group"})
    assert unknown.status_code == 404 and unknown.json() == {"code": "unknown_group", "message": "Unknown group"}
    anonymous = await client.post("/api/openai", json={"data": {}}, headers={"Authorization": "Bearer nope"})
    assert anonymous.status_code == 401
    assert await dispatch_db.tasks.count_documents({"user_id": user_id}) == 0


async def test_a_task_is_found_only_by_its_owner_and_only_until_it_expires(
        worker_group, connect_worker, dispatch_client):
    group, token = await worker_group(billing={"mode": "free"})
    worker = await connect_worker(group, token)
    _, owner = await dispatch_client()
    _, stranger = await dispatch_client()
    call = asyncio.create_task(owner.post("/api/openai", json={"data": {}, "group": group}))
    task = await worker.next_task()
    await worker.complete(task, "mine")
    assert (await call).status_code == 200
    # `GET /api/task/{taskId}` is shared with the Task API (seed 001), whose envelope and code 4004 it answers in.
    not_found = {"success": False, "code": 4004, "message": "Task not found or expired",
                 "error": "Task not found or expired"}
    foreign = await stranger.get(f"/api/task/{task['taskId']}")
    assert foreign.status_code == 404 and foreign.json() == not_found
    assert (await owner.get("/api/task/task_missing")).json() == not_found
    assert (await owner.get(f"/api/task/{task['taskId']}")).status_code == 200

    async def expired():
        return (await owner.get(f"/api/task/{task['taskId']}")).status_code == 404
    await eventually(expired, timeout=RESULT_TTL_MS / 1000 + 10)


async def test_a_hold_billing_refuses_leaves_no_task_and_reaches_no_worker(
        worker_group, connect_worker, dispatch_client, dispatch_db):
    group, token = await worker_group()
    worker = await connect_worker(group, token)
    user_id, client = await dispatch_client(quota=PRICE - 1)
    response = await client.post("/api/openai", json={"data": {}, "group": group})
    assert response.status_code == 402 and response.json()["code"] == 1003
    assert await dispatch_db.tasks.count_documents({"user_id": user_id}) == 0
    assert await worker.receives_nothing(within=0.5)
