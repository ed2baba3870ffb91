"""The dispatch queue (`dispatch_queue`, services/gateway/workers/queue.py): only live work is in
it, a task that ended while queued is never handed out, a task queued on one gateway wakes an idle
worker on the other through the queue watch (the stack's slow re-check is 30 s, so the watch is
what delivers), and idle gateways with workers waiting do not poll MongoDB."""
from __future__ import annotations

import asyncio
import time

import httpx
from prometheus_client.parser import text_string_to_metric_families

from services.gateway.workers.queue import QUEUE_ORDER
from shared.status import TaskStatus
from shared.tasks import TaskStore
from tests.harness.api import eventually
from tests.workers.conftest import DISPATCH_RECHECK_S

FREE = {"mode": "free"}
DISPATCH_COLLECTIONS = {"dispatch_queue", "tasks", "workers", ""}


async def submitted(client: httpx.AsyncClient, body: dict) -> str:
    response = await client.post("/api/openai", json=body)
    assert response.status_code == 200, response.text
    return response.json()["taskId"]


async def queued_entries(db, group: str) -> list[str]:
    return [e["_id"] for e in await db.dispatch_queue.find({"group": group}).sort(QUEUE_ORDER).to_list(None)]


async def test_a_task_ended_while_queued_is_never_handed_out(worker_group, connect_worker, dispatch_client,
                                                           dispatch_db):
    group, token = await worker_group(billing=FREE)
    worker = await connect_worker(group, token, ready=False)
    _, client = await dispatch_client()
    body = {"data": {}, "group": group, "async": True, "timeout": 30_000}
    ended, live = [await submitted(client, {**body, "data": {"n": n}}) for n in range(2)]
    assert await queued_entries(dispatch_db, group) == [ended, live]
    # Ended elsewhere while queued (as the poller's timeout does): its entry stays behind.
    assert await TaskStore(dispatch_db).finish(ended, TaskStatus.FAILURE, fail_reason="timeout", error="Task timeout")
    await worker.send({"type": "ready"})
    task = await worker.next_task()
    assert task["taskId"] == live and task["payload"]["data"] == {"n": 1}
    assert await queued_entries(dispatch_db, group) == []  # the stale entry was dropped, not handed out
    await worker.complete(task, "done")
    assert await worker.receives_nothing(within=1.5)


async def test_the_queue_holds_only_live_work(worker_group, connect_worker, dispatch_client, dispatch_db):
    group, token = await worker_group(billing=FREE)
    worker = await connect_worker(group, token, ready=False)
    _, client = await dispatch_client()
    ids = [await submitted(client, {"data": {"n": n}, "group": group, "async": True}) for n in range(3)]
    assert sorted(await queued_entries(dispatch_db, group)) == sorted(ids)
    timed_out = await client.post("/api/openai", json={"data": {}, "group": group, "timeout": 1000})
    assert timed_out.status_code == 500 and timed_out.json()["error"] == "Task timeout"
    assert sorted(await queued_entries(dispatch_db, group)) == sorted(ids)  # its gateway dropped its entry
    await worker.send({"type": "ready"})
    for _ in ids:
        task = await worker.next_task()
        assert await dispatch_db.dispatch_queue.find_one({"_id": task["taskId"]}) is None  # running: not queued
        await worker.complete(task, "done")
    await eventually(lambda: _all_completed(client, ids), timeout=10)
    assert await queued_entries(dispatch_db, group) == []


async def test_a_task_submitted_while_a_worker_waits_here_skips_the_queue(worker_group, connect_worker,
                                                                        dispatch_client, dispatch_stack):
    """An idle worker on the submitting gateway is reserved for the task, which is stored as that
    worker's: no entry is written to the queue and taken from it again, and no claim swaps the
    task; its one compare-and-swap is the finish (workers/dispatcher.py `reserve`)."""
    group, token = await worker_group(billing=FREE)
    worker = await connect_worker(group, token)
    _, client = await dispatch_client()
    async with httpx.AsyncClient(timeout=10) as http:
        before = await _commands(http, dispatch_stack["gateway"].url)
        for n in range(3):
            task_id = await submitted(client, {"data": {"n": n}, "group": group, "async": True})
            task = await worker.next_task()
            assert task["taskId"] == task_id and task["payload"]["data"] == {"n": n}
            await worker.complete(task, "done")
            await eventually(lambda: _all_completed(client, [task_id]), timeout=10)  # the worker is idle again
        after = await _commands(http, dispatch_stack["gateway"].url)
    queue_writes = {key: n - before.get(key, 0) for key, n in after.items()
                    if key[1] == "dispatch_queue" and key[0] in ("insert", "findAndModify", "delete")}
    assert not any(queue_writes.values()), queue_writes
    swaps = after.get(("findAndModify", "tasks"), 0) - before.get(("findAndModify", "tasks"), 0)
    assert swaps == 3, swaps  # each task's finish, and no claim


async def _all_completed(client: httpx.AsyncClient, ids: list[str]) -> bool:
    views = [(await client.get(f"/api/task/{i}")).json() for i in ids]
    return all(view["status"] == "completed" for view in views)


async def test_a_task_queued_on_a_reaches_an_idle_worker_on_b_promptly(worker_group, connect_worker,
                                                                      dispatch_client):
    assert DISPATCH_RECHECK_S >= 30  # not the slow re-check: the signal from gateway a
    group, token = await worker_group(billing=FREE)
    worker_b = await connect_worker(group, token, gateway="gateway_b")
    _, client_a = await dispatch_client(gateway="gateway")
    await asyncio.sleep(2)  # the worker has been idle a while: no wake-up of its own is pending
    for n in range(3):
        started = time.monotonic()
        task_id = await submitted(client_a, {"data": {"n": n}, "group": group, "async": True})
        task = await worker_b.next_task(timeout=10)
        assert task["taskId"] == task_id
        assert time.monotonic() - started < 4, "the queue watch should wake gateway_b within about 1 s"
        await worker_b.complete(task, "from b")


async def test_idle_gateways_with_workers_waiting_do_not_poll_mongodb(worker_group, connect_worker, dispatch_stack):
    group, token = await worker_group(billing=FREE)
    for gateway in ("gateway", "gateway_b"):
        for _ in range(2):
            await connect_worker(group, token, gateway=gateway)
    await asyncio.sleep(2)
    async with httpx.AsyncClient(timeout=10) as http:
        before = {g: await _commands(http, dispatch_stack[g].url) for g in ("gateway", "gateway_b")}
        started = time.monotonic()
        await asyncio.sleep(8)
        after = {g: await _commands(http, dispatch_stack[g].url) for g in ("gateway", "gateway_b")}
        elapsed = time.monotonic() - started
    for gateway in before:
        grew = {key: after[gateway].get(key, 0) - n for key, n in before[gateway].items()}
        grew |= {key: n for key, n in after[gateway].items() if key not in before[gateway]}
        # Dispatch's collections only: the token re-check (WORKER_TOKEN_RECHECK_S, 10 s) and the
        # harness's short webhook-receipt purge are other jobs.
        dispatch = sum(n for (_, collection), n in grew.items() if collection in DISPATCH_COLLECTIONS)
        print(gateway, f"{dispatch / elapsed:.2f} dispatch commands/s", {k: v for k, v in grew.items() if v})
        claims = grew.get(("findAndModify", "dispatch_queue"), 0) + grew.get(("findAndModify", "tasks"), 0)
        assert claims == 0, (gateway, grew)  # idle workers cause no claims
        assert grew.get(("getMore", "dispatch_queue"), 0) == 0, (gateway, grew)  # work is signalled over Kafka
        # Heartbeats (WORKER_HEARTBEAT_S, 5 s) and the slow re-check (DISPATCH_RECHECK_S, 5 s) only.
        assert dispatch / elapsed <= 1.0, (gateway, grew)


async def _commands(http: httpx.AsyncClient, base: str) -> dict[tuple[str, str], float]:
    text = (await http.get(f"{base}/metrics")).text
    return {(s.labels["command"], s.labels["collection"]): s.value
            for family in text_string_to_metric_families(text) for s in family.samples
            if s.name == "custompass_mongo_commands_total"}
