"""Settling from a terminal event's facts: no read of the task it describes, and a redelivery
settles nothing twice."""
from __future__ import annotations

import secrets

import pytest
from pymongo import AsyncMongoClient

from services.settlement.settle import Settler
from shared.clock import stamp
from shared.events import TaskStatusChanged
from shared.ids import hold_id_for, new_task_id
from shared.ledger import Ledger
from shared.ledger.invariants import wallet_violations
from shared.task_events import status_changed
from shared.tasks import TaskStore


class CountingTasks(TaskStore):
    def __init__(self, db) -> None:
        super().__init__(db)
        self.reads = 0

    async def get(self, task_id: str):
        self.reads += 1
        return await super().get(task_id)


class Published:
    def __init__(self) -> None:
        self.events = []

    async def publish(self, event) -> None:
        self.events.append(event)


@pytest.fixture
async def db(infra):
    client = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    yield client[f"settle_{secrets.token_hex(4)}"]
    await client.close()


async def finished_task(db, ledger: Ledger, user_id: str, status: str) -> dict:
    task_id = new_task_id()
    assert (await ledger.place_hold(hold_id_for(task_id), user_id, 10)).placed
    task = {"_id": task_id, "user_id": user_id, "model": "m", "channel_id": "ch_x", "mode": "async",
            "status": status, "progress": "100%", "hold_id": hold_id_for(task_id), "hold_amount": 10,
            "billing": {"mode": "per_call", "price": 6}, "created_at": stamp(), "finished_at": stamp(),
            "usage": None, "fail_reason": None if status == "SUCCESS" else "upstream_failed"}
    await TaskStore(db).insert(task)
    return task


@pytest.mark.parametrize("status, wallet", [("SUCCESS", (94, 6)), ("FAILURE", (100, 0))])
async def test_a_terminal_event_is_settled_from_its_facts_once(db, status, wallet):
    ledger, tasks, published = Ledger(db), CountingTasks(db), Published()
    user = f"usr_{secrets.token_hex(4)}"
    await db.users.insert_one({"_id": user, "status": "active", "member_until": None})
    await ledger.open_wallet(user)
    await ledger.topup(f"topup:{user}", user, 100)
    task = await finished_task(db, ledger, user, status)
    event = TaskStatusChanged.model_validate_json(status_changed(task, "IN_PROGRESS").model_dump_json())
    assert event.settlement is not None and event.settlement.hold_amount == 10

    settler = Settler(db, tasks, ledger, published)
    assert [o.charged for o in await settler.settle_changed([event])] == [wallet[1]]
    assert tasks.reads == 0  # the event said all settlement needs
    assert await settler.settle_changed([event]) == [None]  # redelivered: the task says it was settled
    assert [e.type for e in published.events] == ["billing.settled"]
    assert await db.consumption_logs.count_documents({"task_id": task["_id"]}) == 1
    stored = await ledger.wallet(user)
    assert (stored["available"], stored["used"], stored["held"]) == (*wallet, 0)
    assert (await tasks.get(task["_id"]))["settlement"]["charged"] == wallet[1]
    assert await wallet_violations(db, user) == []


async def test_an_event_without_facts_is_settled_from_the_stored_task(db):
    ledger, tasks, published = Ledger(db), CountingTasks(db), Published()
    user = f"usr_{secrets.token_hex(4)}"
    await db.users.insert_one({"_id": user, "status": "active", "member_until": None})
    await ledger.open_wallet(user)
    await ledger.topup(f"topup:{user}", user, 100)
    task = await finished_task(db, ledger, user, "SUCCESS")
    version_1 = status_changed(task, "IN_PROGRESS").model_copy(update={"settlement": None, "schema_version": 1})
    assert [o.charged for o in await Settler(db, tasks, ledger, published).settle_changed([version_1])] == [6]
    assert tasks.reads == 1


async def test_a_batch_is_settled_logged_and_marked_in_one_write_per_step(db, monkeypatch):
    ledger, tasks, published = Ledger(db), CountingTasks(db), Published()
    user = f"usr_{secrets.token_hex(4)}"
    await db.users.insert_one({"_id": user, "status": "active", "member_until": None})
    await ledger.open_wallet(user)
    await ledger.topup(f"topup:{user}", user, 100)
    finished = [await finished_task(db, ledger, user, status) for status in ("SUCCESS", "FAILURE") * 3]
    writes: list[str] = []
    bulk_write = type(db.tasks).bulk_write

    def counted(self, *args, **kwargs):
        writes.append(self.name)
        return bulk_write(self, *args, **kwargs)
    monkeypatch.setattr(type(db.tasks), "bulk_write", counted)
    outcomes = await Settler(db, tasks, ledger, published).settle_changed(
        [status_changed(task, "IN_PROGRESS") for task in finished])
    assert [o.outcome for o in outcomes] == ["captured", "voided"] * 3
    # the holds: claimed, their wallet steps, ledger entries, closed, released (Ledger.end_holds);
    # the overview's counters: one write counts the batch, one clears its ids once it is marked
    assert writes == ["holds", "wallets", "ledger", "holds", "wallets",
                      "consumption_logs", "hourly_stats", "tasks", "hourly_stats"]
    assert await db.consumption_logs.count_documents({"user_id": user}) == 6
    assert await db.tasks.count_documents({"user_id": user, "settled": True}) == 6
    assert len(published.events) == 6
    wallet = await ledger.wallet(user)
    assert (wallet["available"], wallet["used"], wallet["held"]) == (82, 18, 0)
    assert await wallet_violations(db, user) == []
