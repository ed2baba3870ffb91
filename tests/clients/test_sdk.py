"""custompass.Client / AsyncClient against the real stack: submit and wait, get, list, cancel,
wallet, models, and typed errors."""
from __future__ import annotations

import asyncio

import pytest

import custompass
from custompass import AsyncClient, Client
from tests.async_flow.conftest import IMAGE_URL
from tests.harness.api import eventually


async def test_submit_then_wait_returns_the_terminal_task(async_channel, caller):
    model, _ = await async_channel()
    me = await caller()
    async with AsyncClient(me.url, me.key) as client:
        submitted = await client.submit(model, {"prompt": "a cat", "mock": {"polls_before_done": 2}})
        assert submitted.task_id.startswith("task_") and not submitted.terminal
        seen: list[str] = []
        done = await client.wait(submitted.task_id, timeout=60, poll_interval=0.1,
                                 on_update=lambda task: seen.append(task.status))
    assert done.task_id == submitted.task_id and done.status == "completed" and done.progress == "100%"
    assert done.result["url"] and seen[-1] == "completed"


async def test_run_submits_and_waits_for_the_terminal_task(async_channel, caller):
    model, _ = await async_channel()
    me = await caller()
    async with AsyncClient(me.url, me.key) as client:
        done = await client.run(model, {"mock": {"outcome": "fail"}}, timeout=60, poll_interval=0.1)
    assert done.status == "failed" and done.failed and done.error == "generation failed"


async def test_typed_tasks_through_the_task_api(typed_task, caller):
    name = await typed_task({"polls_before_done": 2, "result": {"urls": ["https://x/1.png"]}})
    me = await caller()
    async with AsyncClient(me.url, me.key) as client:
        opened = await client.submit_task(name, IMAGE_URL, {"scene": "street"})
        done = await client.wait(opened.task_id, timeout=60, poll_interval=0.1)
        ran = await asyncio.to_thread(lambda: Client(me.url, me.key).run_task(name, IMAGE_URL, timeout=60))
        with pytest.raises(custompass.BadRequest) as unknown:
            await client.submit_task("no_such_type", IMAGE_URL)
    assert opened.status == "pending" and opened.type == name and not opened.terminal
    assert done.task_id == opened.task_id and done.status == "success" and done.resultUrls == ["https://x/1.png"]
    assert ran.status == "success" and ran.task_id != opened.task_id
    assert (unknown.value.status, unknown.value.code) == (400, 4001)


async def test_get_list_wallet_and_models(async_channel, caller, admin):
    model, _ = await async_channel()
    me = await caller(quota=100)

    def use_the_sync_client() -> tuple:
        with Client(me.url, me.key) as client:
            task = client.submit(model, {"prompt": "x"})
            return task, client.get(task.task_id), client.list(model=model), client.wallet(), client.models()

    task, got, listed, wallet, models = await asyncio.to_thread(use_the_sync_client)
    assert got.task_id == task.task_id and got.model == model and got.mode == "async"
    assert [t.task_id for t in listed.data] == [task.task_id] and listed.total == 1
    assert isinstance(wallet, custompass.Wallet) and wallet.credited == 100
    assert wallet.available + wallet.held + wallet.used == 100 and wallet.held + wallet.used == 10
    [entry] = [m for m in models.data if m.id == model]
    assert entry.mode == "async" and entry.endpoint == f"POST /pass/{model}/submit" and entry.hold == 10
    assert entry.billing.mode == "per_call" and entry.billing.price == 10


async def test_errors_are_typed_with_the_api_code_and_status(async_channel, caller):
    model, _ = await async_channel()
    me, broke = await caller(), await caller(quota=0)
    async with AsyncClient(me.url, me.key) as client, AsyncClient(broke.url, broke.key) as poor:
        task = await client.submit(model, {"prompt": "x"})
        with pytest.raises(custompass.Conflict) as cancelled:
            await client.cancel(task.task_id)  # CustomPass upstreams have no cancel
        with pytest.raises(custompass.NotFound) as missing:
            await client.get("task_does_not_exist")
        with pytest.raises(custompass.NotFound) as foreign:
            await poor.get(task.task_id)
        with pytest.raises(custompass.PaymentRequired) as unpaid:
            await poor.submit(model, {"prompt": "x"})
    assert (cancelled.value.status, cancelled.value.code) == (409, "cancel_not_supported")
    # GET /api/task/{id} answers in the Task API's envelope: its number for "task not found"
    assert (missing.value.status, missing.value.code) == (404, 4004) and "not found" in missing.value.message
    assert (foreign.value.status, foreign.value.code) == (404, 4004)
    assert (unpaid.value.status, unpaid.value.code) == (402, 1003)
    with pytest.raises(custompass.Unauthorized) as refused:
        async with AsyncClient(me.url, "cp-not-a-key") as stranger:
            await stranger.wallet()
    assert refused.value.status == 401 and refused.value.code == "unauthorized"


async def test_wait_times_out_with_the_running_task(async_channel, caller):
    model, _ = await async_channel()
    me = await caller()
    async with AsyncClient(me.url, me.key) as client:
        task = await client.submit(model, {"mock": {"outcome": "never"}})
        with pytest.raises(custompass.WaitTimeout) as timed_out:
            await client.wait(task.task_id, timeout=1, poll_interval=0.2)
    assert timed_out.value.task_id == task.task_id
    assert timed_out.value.task is not None and not timed_out.value.task.terminal


async def test_list_filters_by_status(async_channel, caller):
    """Status filters use the CustomPass words, as the API does."""
    model, _ = await async_channel()
    me = await caller()
    async with AsyncClient(me.url, me.key) as client:
        task = await client.submit(model, {})
        await client.wait(task.task_id, timeout=60, poll_interval=0.1)

        async def listed_completed():
            return [t.task_id for t in (await client.list(status="completed")).data] == [task.task_id]
        await eventually(listed_completed, timeout=10)
        assert (await client.list(status="failed")).data == []
