"""Settlement under duplicates, racing pollers, lost events and crashes: one capture, one log."""
from __future__ import annotations

import asyncio

import httpx
import pytest
from pymongo import AsyncMongoClient

from services.poller.settings import PollerSettings
from services.poller.sweep import Sweeper
from shared import topics
from shared.channels import ChannelRepository
from shared.clock import stamp
from shared.ids import hold_id_for, new_task_id
from shared.kafka import EventPublisher, make_broker
from shared.ledger import Ledger
from shared.ledger.invariants import wallet_violations
from shared.status import TaskStatus
from shared.task_events import status_changed
from shared.task_record import Task
from shared.tasks import TaskStore
from tests.harness.api import AdminApi, assert_sound_wallet, billing_client, consumer_lag, eventually


async def terminal_unsettled_task(db, user_id: str, status: str, hold: int, price: int) -> dict:
    """What the system holds right after a task turned terminal, before settlement ran."""
    task_id = new_task_id()
    assert (await Ledger(db).place_hold(hold_id_for(task_id), user_id, hold)).placed
    task = {"_id": task_id, "user_id": user_id, "model": "m", "channel_id": "ch_x", "mode": "async",
            "status": status, "progress": "100%", "hold_id": hold_id_for(task_id), "hold_amount": hold,
            "billing": {"mode": "per_call", "price": price}, "created_at": stamp(), "finished_at": stamp(),
            "fail_reason": None if status == "SUCCESS" else "upstream_failed"}
    await TaskStore(db).insert(Task.from_document(task))
    return task


async def test_same_terminal_event_delivered_many_times_settles_once(stack, admin, mongo_db):
    user = await admin.create_user(quota=100)
    task = await terminal_unsettled_task(mongo_db, user, "SUCCESS", hold=10, price=7)
    async with billing_client(stack.env) as (_, publisher):
        event = status_changed(Task.from_document(task), TaskStatus.IN_PROGRESS)
        await asyncio.gather(*(publisher.publish(event) for _ in range(8)))
    await eventually(lambda: _settled(mongo_db, task["_id"]))
    await eventually(lambda: _all_handled(consumer_lag(stack.env, "settlement", topics.TASK_STATUS_CHANGED)))
    assert await mongo_db.consumption_logs.count_documents({"task_id": task["_id"]}) == 1
    assert await admin.wallet(user) == {"available": 93, "held": 0, "used": 7, "credited": 100, "debt": 0}
    await assert_sound_wallet(mongo_db, user)


async def test_terminal_task_whose_event_was_lost_is_settled_by_reconciliation(stack, admin, mongo_db):
    user = await admin.create_user(quota=100)
    task = await terminal_unsettled_task(mongo_db, user, "FAILURE", hold=25, price=25)  # no event published
    await eventually(lambda: _settled(mongo_db, task["_id"]), timeout=30)
    assert await admin.wallet(user) == {"available": 100, "held": 0, "used": 0, "credited": 100, "debt": 0}
    assert await mongo_db.consumption_logs.count_documents({"task_id": task["_id"]}) == 1


async def test_two_pollers_seeing_the_same_completion_settle_once(stack, admin, mongo_db, async_channel, make_client):
    """Two sweeps querying the same tasks at once (what an expired lease allows): the terminal
    transition is a compare-and-swap, so exactly one of them publishes it."""
    model, _ = await async_channel(poll_interval_s=3600)  # the stack's own poller stays away
    client = await make_client(quota=200)
    task_ids = [(await client.submit(model, {"mock": {"polls_before_done": 0}})).json()["task_id"] for _ in range(10)]
    settings = PollerSettings(kafka_bootstrap_servers=stack.env["KAFKA_BOOTSTRAP_SERVERS"],
                              kafka_topic_prefix=stack.env["KAFKA_TOPIC_PREFIX"])
    broker = make_broker(settings, "race-test")
    await broker.start()
    published: list = []

    class CountingPublisher(EventPublisher):
        async def publish(self, event) -> None:
            published.append(event)
            await super().publish(event)

    publisher = CountingPublisher(broker, settings, "race-test")
    try:
        async with httpx.AsyncClient() as http:
            channels = ChannelRepository(mongo_db)
            sweepers = [Sweeper(TaskStore(mongo_db), channels, publisher, http, settings, outbound=http)
                        for _ in range(2)]
            tasks = await TaskStore(mongo_db).records(task_ids)
            channel = await channels.get(tasks[0].channel_id)
            from services.poller.sweep import SweepReport
            await asyncio.gather(*(s._poll_batch(channel, tasks, "no-lease", SweepReport()) for s in sweepers))
    finally:
        await broker.stop()
    assert sorted(e.task_id for e in published if e.status.is_terminal) == sorted(task_ids)
    for task_id in task_ids:
        await eventually(lambda: _settled(mongo_db, task_id))
        assert await mongo_db.consumption_logs.count_documents({"task_id": task_id}) == 1
    assert (await admin.wallet(client.user_id))["used"] == 100


@pytest.fixture
async def private_system(make_stack, infra):
    """A stack of its own (the test kills or adds processes), a user with a key and a channel."""
    system = make_stack()
    admin = AdminApi(system.gateway_url, system.admin_token)
    mongo = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    user, key = await admin.user_with_key(quota=2000)
    await admin.create_channel(name="c", kind="custompass_async", base_url=system.upstream_url,
                               models=["m/submit"], billing={"mode": "per_call", "price": 10}, poll_interval_s=0.1)
    http = httpx.AsyncClient(base_url=system.gateway_url, headers={"Authorization": f"Bearer {key}"}, timeout=30)
    yield system, admin, mongo[system.env["MONGODB_DATABASE"]], user, http
    await http.aclose()
    await admin.close()
    await mongo.close()


async def submit_all(http: httpx.AsyncClient, mocks: list[dict]) -> None:
    responses = await asyncio.gather(*(http.post("/pass/m/submit", json={"mock": m}) for m in mocks))
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses if r.status_code != 200]


async def test_two_poller_processes_share_the_work_and_settle_each_task_once(private_system):
    system, admin, db, user, http = private_system
    system.add("poller2", "poller")
    await submit_all(http, [{"polls_before_done": 2}] * 40)

    async def all_settled():
        return await db.tasks.count_documents({"settled": True}) == 40
    await eventually(all_settled, timeout=60)
    assert await db.consumption_logs.count_documents({}) == 40
    assert await admin.wallet(user) == {"available": 1600, "held": 0, "used": 400, "credited": 2000, "debt": 0}
    assert await wallet_violations(db, user) == []


async def test_settlement_killed_mid_stream_loses_and_doubles_nothing(private_system):
    system, admin, db, user, http = private_system
    await submit_all(http, [{"outcome": o, "polls_before_done": 1} for o in ["success", "fail"] * 40])

    async def some_settled():
        return await db.tasks.count_documents({"settled": True}) >= 5
    await eventually(some_settled, timeout=60, interval=0.02)
    system["settlement"].kill()
    system["settlement"].start().wait_ready()

    async def all_settled():
        return await db.tasks.count_documents({"settled": True}) == 80
    await eventually(all_settled, timeout=90)
    assert await db.consumption_logs.count_documents({}) == 80
    assert await admin.wallet(user) == {"available": 1600, "held": 0, "used": 400, "credited": 2000, "debt": 0}
    assert await wallet_violations(db, user) == []


async def _settled(db, task_id: str) -> bool:
    task = await db.tasks.find_one({"_id": task_id})
    return bool(task and task.get("settled"))


async def _all_handled(lag) -> bool:
    return await lag <= 0
