"""What settling a finished task captures or refunds (pure: `final_cost`, `_hold_end`), the
which review a capped charge flags (`_with_review`), the progress webhooks it records, and, against the real MongoDB stand-in, settling from a terminal
event's facts: no read of the task it describes, and a redelivery settles nothing twice."""
from __future__ import annotations

import secrets

import pytest
from pymongo import AsyncMongoClient

from services.settlement.settle import Settler, _hold_end, _with_review, final_cost, record_progress
from shared.clock import stamp
from shared.events import CallbackTarget, TaskStatusChanged
from shared.ids import hold_id_for, new_task_id
from shared.ledger import HoldEnd, Ledger
from shared.ledger.invariants import wallet_violations
from shared.status import TaskStatus
from shared.task_events import status_changed
from shared.task_record import Task
from shared.tasks import TaskStore


def ended(status: str, billing: dict | None, *, hold: int = 10, usage=None, guardrails=None, **extra) -> Task:
    """A finished task as settlement sees it: its status, hold and the terms snapshotted at submit."""
    return Task(id="task_1", user_id="usr_1", status=TaskStatus(status), hold_id="hold_task_1", hold_amount=hold,
                billing=billing, usage=usage, guardrails=guardrails, **extra)


@pytest.mark.parametrize("billing", [{"mode": "per_call", "price": 6}, {"mode": "per_usage", "price": 100}, None])
def test_a_failed_task_voids_its_hold_whatever_its_price(billing):
    assert _hold_end(ended("FAILURE", billing, usage={"total_tokens": 500})) == HoldEnd("hold_task_1", "usr_1")


@pytest.mark.parametrize("billing,usage,cost", [
    ({"mode": "per_call", "price": 6}, None, 6),  # the rest of the hold of 10 is refunded
    ({"mode": "per_usage", "price": 100}, {"total_tokens": 250}, 25),  # above the hold: the ledger takes the rest
    ({"mode": "per_usage", "price": 100}, None, 10),  # no trustworthy usage: the hold was the estimate
    ({"mode": "free", "price": 100}, None, 0),
    (None, None, 0),  # no terms snapshotted: nothing to charge
])
def test_a_successful_task_captures_its_final_cost(billing, usage, cost):
    task = ended("SUCCESS", billing, usage=usage)
    assert final_cost(task) == cost
    assert _hold_end(task) == HoldEnd("hold_task_1", "usr_1", cost)
    assert _with_review(task) is task


def test_a_cost_above_a_guardrail_captures_the_hold_and_flags_the_rest_for_review():
    task = ended("SUCCESS", {"mode": "per_call", "price": 50}, guardrails={"max_charge": 20})
    assert _hold_end(task) == HoldEnd("hold_task_1", "usr_1", 10)
    review = _with_review(task).review
    assert {k: review[k] for k in ("state", "reason", "uncapped", "capped", "rest")} == \
        {"state": "pending", "reason": "max_charge", "uncapped": 50, "capped": 10, "rest": 40}


def test_a_resumed_settlement_keeps_the_review_flagged_first():
    first = {"state": "pending", "reason": "max_charge", "uncapped": 50, "capped": 10, "rest": 40,
             "flagged_at": "2026-12-02T10:00:00.000000Z"}
    task = ended("SUCCESS", {"mode": "per_call", "price": 50}, guardrails={"max_charge": 20}, review=first)
    assert _hold_end(task).cost == 10 and _with_review(task).review is first


class RecordedDeliveries:
    def __init__(self) -> None:
        self.wanted = []

    async def record(self, *wanted) -> None:
        self.wanted.extend(wanted)


def progressed(status: str, progress: str | None, events: list[str] | None = None) -> TaskStatusChanged:
    callback = CallbackTarget(url="https://hooks.example/cp", events=events) if events is not None else None
    return TaskStatusChanged(correlation_id="task_1", task_id="task_1", user_id="usr_1", status=status,
                             progress=progress, callback=callback)


async def test_a_progress_webhook_is_recorded_once_per_state_for_callers_who_asked():
    deliveries = RecordedDeliveries()
    await record_progress(deliveries, [
        progressed("IN_PROGRESS", "40%", ["progress", "completed"]),
        progressed("IN_PROGRESS", "40%", ["progress", "completed"]),  # a second path reporting the same
        progressed("IN_PROGRESS", "60%", ["progress"]),
        progressed("QUEUED", None, ["progress"]),
        progressed("IN_PROGRESS", "80%", ["completed"]),  # asked for no progress webhooks
        progressed("IN_PROGRESS", "90%"),  # no callback at all
    ])
    bodies = [w.body for w in deliveries.wanted]
    assert bodies == [{"task_id": "task_1", "status": "processing", "progress": "40%"}] * 2 + [
        {"task_id": "task_1", "status": "processing", "progress": "60%"},
        {"task_id": "task_1", "status": "processing", "progress": "0%"}]
    occurrences = [w.occurrence for w in deliveries.wanted]
    assert occurrences[0] == occurrences[1] and len(set(occurrences)) == 3  # the same state: one delivery id
    assert {(w.event, w.task.callback_url) for w in deliveries.wanted} == {("progress", "https://hooks.example/cp")}


class CountingTasks(TaskStore):
    def __init__(self, db) -> None:
        super().__init__(db)
        self.reads = 0

    async def record(self, task_id: str):
        self.reads += 1
        return await super().record(task_id)


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
    await TaskStore(db).insert(Task.from_document(task))
    return task


@pytest.mark.parametrize("status, wallet", [("SUCCESS", (94, 6)), ("FAILURE", (100, 0))])
async def test_a_terminal_event_is_settled_from_its_facts_once(db, status, wallet):
    ledger, tasks, published = Ledger(db), CountingTasks(db), Published()
    user = f"usr_{secrets.token_hex(4)}"
    await db.users.insert_one({"_id": user, "status": "active", "member_until": None})
    await ledger.open_wallet(user)
    await ledger.topup(f"topup:{user}", user, 100)
    task = await finished_task(db, ledger, user, status)
    changed = status_changed(Task.from_document(task), TaskStatus.IN_PROGRESS)
    event = TaskStatusChanged.model_validate_json(changed.model_dump_json())
    assert event.settlement is not None and event.settlement.hold_amount == 10

    settler = Settler(db, tasks, ledger, published)
    assert [o.charged for o in await settler.settle_changed([event])] == [wallet[1]]
    assert tasks.reads == 0  # the event said all settlement needs
    assert await settler.settle_changed([event]) == [None]  # redelivered: the task says it was settled
    assert [e.type for e in published.events] == ["billing.settled"]
    assert await db.consumption_logs.count_documents({"task_id": task["_id"]}) == 1
    stored = await ledger.wallet(user)
    assert (stored.available, stored.used, stored.held) == (*wallet, 0)
    assert (await tasks.record(task["_id"])).settlement["charged"] == wallet[1]
    assert await wallet_violations(db, user) == []


async def test_an_event_without_facts_is_settled_from_the_stored_task(db):
    ledger, tasks, published = Ledger(db), CountingTasks(db), Published()
    user = f"usr_{secrets.token_hex(4)}"
    await db.users.insert_one({"_id": user, "status": "active", "member_until": None})
    await ledger.open_wallet(user)
    await ledger.topup(f"topup:{user}", user, 100)
    task = await finished_task(db, ledger, user, "SUCCESS")
    version_1 = status_changed(Task.from_document(task), TaskStatus.IN_PROGRESS).model_copy(
        update={"settlement": None, "schema_version": 1})
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
        [status_changed(Task.from_document(task), TaskStatus.IN_PROGRESS) for task in finished])
    assert [o.outcome for o in outcomes] == ["captured", "voided"] * 3
    # the holds: claimed, their wallet steps, ledger entries, closed, released (Ledger.end_holds);
    # the overview's counters: one write counts the batch, one clears its ids once it is marked
    assert writes == ["holds", "wallets", "ledger", "holds", "wallets",
                      "consumption_logs", "hourly_stats", "tasks", "hourly_stats"]
    assert await db.consumption_logs.count_documents({"user_id": user}) == 6
    assert await db.tasks.count_documents({"user_id": user, "settled": True}) == 6
    assert len(published.events) == 6
    wallet = await ledger.wallet(user)
    assert (wallet.available, wallet.used, wallet.held) == (82, 18, 0)
    assert await wallet_violations(db, user) == []
