"""The SDK over the gateway's bounded wait (`Prefer: wait=N` on the submit) and its event stream
(`GET /api/task/{id}/events`), a stream cut by a proxy included."""
from __future__ import annotations

from custompass import AsyncClient, RetryPolicy
from tests.clients.dropping_proxy import DroppingProxy


async def test_a_submit_that_waits_answers_with_the_terminal_task(async_channel, caller):
    model, _ = await async_channel()
    me = await caller()
    async with AsyncClient(me.url, me.key) as client:
        done = await client.submit(model, {"prompt": "quick", "mock": {"polls_before_done": 1}}, wait=60)
    assert done.status == "completed" and done.result["url"]


async def test_a_submit_whose_wait_runs_out_answers_with_the_running_task(async_channel, caller):
    model, _ = await async_channel()
    me = await caller()
    async with AsyncClient(me.url, me.key) as client:
        running = await client.submit(model, {"mock": {"outcome": "never"}}, wait=1)
        listed = await client.list(model=model)
    assert running.status == "processing" and not running.terminal
    assert [t.task_id for t in listed.data] == [running.task_id]  # the wait opened no second task


async def test_a_stream_ends_with_the_terminal_task(async_channel, caller):
    model, _ = await async_channel()
    me = await caller()
    async with AsyncClient(me.url, me.key) as client:
        task = await client.submit(model, {"mock": {"polls_before_done": 3}})
        events = [event async for event in client.stream(task.task_id)]
    assert events[-1].done and events[-1].task.status == "completed"
    assert all(not e.done for e in events[:-1]) and all(e.task.task_id == task.task_id for e in events)
    ids = [int(e.id) for e in events]
    assert ids == sorted(set(ids))


async def test_a_stream_cut_after_its_first_event_resumes_where_it_stopped(async_channel, caller, stack):
    model, _ = await async_channel()
    me = await caller()
    async with AsyncClient(me.url, me.key) as direct:
        task = await direct.submit(model, {"mock": {"polls_before_done": 4}})
    async with DroppingProxy(stack.gateway_url, drop_first=1, after=b"event:") as proxy:
        async with AsyncClient(proxy.url, me.key, retry=RetryPolicy(base_delay=0.05)) as client:
            events = [event async for event in client.stream(task.task_id)]
            done = await client.wait(task.task_id, timeout=60)
    assert proxy.dropped == 1 and proxy.connections >= 2
    ids = [int(e.id) for e in events]
    assert ids == sorted(set(ids)) and len(ids) >= 2  # nothing repeated after the reconnect
    assert events[-1].done and events[-1].task.status == "completed" and done.status == "completed"
