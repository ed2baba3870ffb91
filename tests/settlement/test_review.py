"""Settlement guardrails: a cost above a channel's bound is captured at the hold and flagged; an
admin's review decides once, under redelivery, concurrency and a crash half-way."""
from __future__ import annotations

import asyncio
import secrets

import pytest
from pymongo import AsyncMongoClient

from services.settlement.settle import Settler
from shared.clock import stamp
from shared.ids import hold_id_for, new_task_id
from shared.ledger import KeySpend, Ledger
from shared.ledger.invariants import wallet_violations
from shared.settlement_review import ReviewDecided, ReviewNotFound, SettlementReviews
from shared.status import TaskStatus
from shared.task_events import status_changed
from shared.task_record import Task
from shared.tasks import TaskStore


class Published:
    async def publish(self, event) -> None:
        pass


@pytest.fixture
async def db(infra):
    client = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    yield client[f"review_{secrets.token_hex(4)}"]
    await client.close()


async def capped_task(db, ledger: Ledger, *, quota: int, price: int = 50,
                      guardrails: dict | None = None) -> tuple[str, dict]:
    """A user with `quota`, and their task (hold 10, cost `price`) settled through its event twice."""
    user = f"usr_{secrets.token_hex(4)}"
    await db.users.insert_one({"_id": user, "status": "active", "member_until": None})
    await ledger.open_wallet(user)
    await ledger.topup(f"topup:{user}", user, quota)
    task_id = new_task_id()
    assert (await ledger.place_hold(hold_id_for(task_id), user, 10, KeySpend("key_1"))).placed
    task = {"_id": task_id, "user_id": user, "key_id": "key_1", "model": "m", "channel_id": "ch_g", "mode": "async",
            "status": "SUCCESS", "progress": "100%", "hold_id": hold_id_for(task_id), "hold_amount": 10,
            "billing": {"mode": "per_call", "price": price}, "guardrails": guardrails or {"max_charge": 20},
            "created_at": stamp(), "finished_at": stamp(), "usage": None, "fail_reason": None}
    await TaskStore(db).insert(Task.from_document(task))
    settler = Settler(db, TaskStore(db), ledger, Published())
    event = status_changed(Task.from_document(task), TaskStatus.IN_PROGRESS)
    assert event.settlement.guardrails == task["guardrails"]
    await settler.settle_changed([event])
    await settler.settle_changed([event])  # redelivered
    return user, await db.tasks.find_one({"_id": task_id})


async def dying_after_the_wallet_step(ledger: Ledger, monkeypatch, call) -> None:
    """Runs `call` with the review charge's worker dying after its wallet step, before its entry."""
    record = ledger._record

    async def dies_recording(entry_id, *args, **kwargs):
        if entry_id.endswith(":review"):
            raise ConnectionError("process gone")
        return await record(entry_id, *args, **kwargs)
    monkeypatch.setattr(ledger, "_record", dies_recording)
    try:
        await call
    finally:
        monkeypatch.setattr(ledger, "_record", record)


async def test_a_cost_above_a_guardrail_is_captured_at_the_hold_and_flagged(db):
    ledger = Ledger(db)
    user, task = await capped_task(db, ledger, quota=100)
    assert task["settlement"]["charged"] == 10
    assert {k: task["review"][k] for k in ("state", "reason", "uncapped", "capped", "rest")} == {
        "state": "pending", "reason": "max_charge", "uncapped": 50, "capped": 10, "rest": 40}
    log = await db.consumption_logs.find_one({"_id": task["_id"]})
    assert log["quota"] == 10 and log["review"]["uncapped"] == 50
    assert (await ledger.wallet(user)).available == 90
    rows, total = await SettlementReviews(db, ledger).page("pending", 10, 0)
    assert total == 1 and rows[0].id == task["_id"]
    assert await wallet_violations(db, user) == []


async def test_concurrent_approvals_charge_the_rest_exactly_once(db):
    ledger = Ledger(db)
    reviews = SettlementReviews(db, ledger)
    user, task = await capped_task(db, ledger, quota=100, guardrails={"max_charge_multiple": "2"})
    decided = await asyncio.gather(*(reviews.decide(task["_id"], "approved") for _ in range(6)))
    assert {(r["state"], r["charged"], r["debt"]) for r in decided} == {("approved", 40, 0)}
    again = await reviews.decide(task["_id"], "approved")  # an approve redelivered later
    assert (again["charged"], again["decided_at"]) == (40, decided[0]["decided_at"])
    wallet = await ledger.wallet(user)
    assert (wallet.available, wallet.used, wallet.debt) == (50, 50, 0)
    assert await db.ledger.count_documents({"_id": f"{task['hold_id']}:review"}) == 1
    with pytest.raises(ReviewDecided):
        await reviews.decide(task["_id"], "dismissed")
    assert (await db.consumption_logs.find_one({"_id": task["_id"]}))["review"]["charged"] == 40
    assert await wallet_violations(db, user) == []


async def test_an_approval_the_wallet_cannot_cover_records_debt_not_a_negative_wallet(db):
    ledger = Ledger(db)
    user, task = await capped_task(db, ledger, quota=30)  # 20 left after the capped capture; rest 40
    review = await SettlementReviews(db, ledger).decide(task["_id"], "approved")
    assert (review["charged"], review["debt"]) == (20, 20)
    wallet = await ledger.wallet(user)
    assert (wallet.available, wallet.used, wallet.debt) == (0, 30, 20)
    assert await wallet_violations(db, user) == []


async def test_of_racing_approve_and_dismiss_exactly_one_wins(db):
    ledger = Ledger(db)
    reviews = SettlementReviews(db, ledger)
    user, task = await capped_task(db, ledger, quota=100)
    answers = await asyncio.gather(*(reviews.decide(task["_id"], d) for d in ("dismissed", "approved") * 4),
                                   return_exceptions=True)
    won = {a["state"] for a in answers if isinstance(a, dict)}
    assert len(won) == 1 and all(isinstance(a, ReviewDecided) for a in answers if not isinstance(a, dict))
    used = (await ledger.wallet(user)).used
    assert used == (50 if won == {"approved"} else 10)
    assert await wallet_violations(db, user) == []


async def test_a_dismissal_charges_nothing_more_and_unknown_tasks_have_no_review(db):
    ledger = Ledger(db)
    reviews = SettlementReviews(db, ledger)
    user, task = await capped_task(db, ledger, quota=100)
    assert (await reviews.decide(task["_id"], "dismissed"))["state"] == "dismissed"
    assert (await reviews.decide(task["_id"], "dismissed"))["state"] == "dismissed"
    assert (await ledger.wallet(user)).used == 10
    with pytest.raises(ReviewDecided):
        await reviews.decide(task["_id"], "approved")
    with pytest.raises(ReviewNotFound):
        await reviews.decide("task_none", "approved")


async def test_an_approval_that_stopped_half_way_resumes_to_the_same_result(db, monkeypatch):
    ledger = Ledger(db, lease_s=0.2)
    reviews = SettlementReviews(db, ledger)
    user, task = await capped_task(db, ledger, quota=100)

    # 1. decided, then died before the charge: the next approve charges it.
    charge = ledger.charge_review

    async def dies(*args):
        raise ConnectionError("process gone")
    monkeypatch.setattr(ledger, "charge_review", dies)
    with pytest.raises(ConnectionError):
        await reviews.decide(task["_id"], "approved")
    assert (await ledger.wallet(user)).used == 10
    monkeypatch.setattr(ledger, "charge_review", charge)

    # 2. the wallet step applied, then died before the entry and the close: resumed, applied once.
    with pytest.raises(ConnectionError):
        await dying_after_the_wallet_step(ledger, monkeypatch, reviews.decide(task["_id"], "approved"))
    assert (await ledger.wallet(user)).used == 50  # the wallet step happened

    review = await reviews.decide(task["_id"], "approved")  # waits out the dead holder's lease
    assert (review["charged"], review["debt"]) == (40, 0)
    wallet = await ledger.wallet(user)
    assert (wallet.available, wallet.used) == (50, 50)
    assert await wallet_violations(db, user) == []


async def test_the_recovery_sweep_finishes_a_review_charge_whose_worker_died(db, monkeypatch):
    ledger = Ledger(db, lease_s=0.2)
    user, task = await capped_task(db, ledger, quota=100)
    with pytest.raises(ConnectionError):
        await dying_after_the_wallet_step(ledger, monkeypatch, ledger.charge_review(task["hold_id"], 40))
    for _ in range(200):  # until the dead worker's lease has expired and the sweep takes it
        if await ledger.recover():
            break
        await asyncio.sleep(0.01)
    charge = await db.review_charges.find_one({"_id": f"{task['hold_id']}:review"})
    assert (charge["state"], charge["charged"]) == ("applied", 40)
    assert (await ledger.charge_review(task["hold_id"], 40)).repeated
    assert await wallet_violations(db, user) == []
