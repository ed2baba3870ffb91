"""Holds placed by the gateway itself (services/gateway/in_process_holds.py), against a real
MongoDB-wire server: batches, concurrency across two gateways, failures, and a crash mid-way."""
from __future__ import annotations

import asyncio

import pytest
from pymongo.errors import AutoReconnect

from services.gateway.errors import BillingUnavailable
from services.gateway.in_process_holds import InProcessHolds
from shared.ledger import LeaseBusy, Ledger
from shared.ledger.invariants import wallet_violations
from shared.ledger.wallet import Wallet


class CountingLedger(Ledger):
    """The ledger, recording the size of each batch it was asked to place."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.batches: list[int] = []

    async def place_holds(self, placements):
        self.batches.append(len(placements))
        return await super().place_holds(placements)


def gateway_holds(db, **kwargs) -> tuple[CountingLedger, InProcessHolds]:
    ledger = CountingLedger(db, lease_s=60.0)
    return ledger, InProcessHolds(ledger, max_batch=kwargs.get("max_batch", 200),
                                  timeout_s=kwargs.get("timeout_s", 60.0))


async def test_a_lone_hold_is_placed_at_once_and_a_crowd_in_batches(db, new_user):
    user = await new_user(quota=1000)
    ledger, holds = gateway_holds(db, max_batch=50)
    alone = await holds.hold("hold_alone", user, 5, "task_alone")
    assert (alone.placed, alone.amount, ledger.batches) == (True, 5, [1])
    decisions = await asyncio.gather(*(holds.hold(f"hold_{i}", user, 1, f"task_{i}") for i in range(300)))
    assert all(decision.placed for decision in decisions)
    # The first of the crowd is written alone; the rest waited for it and went together, 50 at most.
    assert sum(ledger.batches) == 301 and max(ledger.batches) == 50 and len(ledger.batches) <= 1 + 1 + 6
    assert await ledger.wallet(user) == Wallet(available=695, held=305, used=0, credited=1000, debt=0)
    assert await wallet_violations(db, user) == []


async def test_two_gateways_holding_on_one_wallet_never_overdraw(db, new_user):
    user = await new_user(quota=700)
    (_, first), (_, second) = gateway_holds(db), gateway_holds(db)
    decisions = await asyncio.gather(*((first if i % 2 else second).hold(f"hold_{i}", user, 1, f"task_{i}")
                                       for i in range(1000)))
    assert sum(decision.placed for decision in decisions) == 700
    assert {decision.reason for decision in decisions if not decision.placed} == {"insufficient_quota"}
    assert await Ledger(db).wallet(user) == Wallet(available=0, held=700, used=0, credited=700, debt=0)
    assert await wallet_violations(db, user) == []


async def test_one_hold_asked_for_again_on_both_gateways_holds_once(db, new_user):
    user = await new_user(quota=100)
    (_, first), (_, second) = gateway_holds(db), gateway_holds(db)
    decisions = await asyncio.gather(*((first, second)[i % 2].hold("hold_same", user, 30, "task_same")
                                       for i in range(20)))
    assert {(decision.placed, decision.amount) for decision in decisions} == {(True, 30)}
    assert (await Ledger(db).wallet(user)).held == 30
    assert await wallet_violations(db, user) == []


async def test_rejections_carry_the_ledgers_reason(db, new_user):
    user = await new_user(quota=10)
    _, holds = gateway_holds(db)
    short = await holds.hold("hold_big", user, 11, "task_big")
    over_key = await holds.hold("hold_key", user, 5, "task_key", key_id="key_1", key_quota=4)
    await db.users.update_one({"_id": user}, {"$set": {"status": "disabled"}})
    disabled = await gateway_holds(db)[1].hold("hold_off", user, 1, "task_off")  # a fresh cache
    assert [(d.placed, d.reason) for d in (short, over_key, disabled)] == [
        (False, "insufficient_quota"), (False, "key_quota_exceeded"), (False, "user_disabled")]
    assert await Ledger(db).wallet(user) == Wallet(available=10, held=0, used=0, credited=10, debt=0)


async def test_a_failed_write_answers_billing_unavailable_and_the_next_batch_is_written(db, new_user):
    user = await new_user(quota=100)
    ledger, holds = gateway_holds(db)
    real_batch, real_alone = ledger.place_holds, ledger.place_hold
    down = True  # the database unreachable: the batch fails, and so does its hold alone

    async def batch(placements):
        if down:
            raise AutoReconnect("connection reset")
        return await real_batch(placements)

    async def alone(*args):
        if down:
            raise AutoReconnect("connection reset")
        return await real_alone(*args)

    ledger.place_holds, ledger.place_hold = batch, alone
    with pytest.raises(BillingUnavailable):
        await holds.hold("hold_lost", user, 5, "task_lost")
    down = False
    placed = await holds.hold("hold_next", user, 5, "task_next")
    assert placed.placed and (await ledger.wallet(user)).held == 5


async def test_one_holds_failure_in_a_batch_leaves_the_others_their_own_outcome(db, new_user):
    """A batch that raises (here: a lease another process holds past our patience, on one hold)
    is placed again one hold at a time: only the hold that fails again answers 503."""
    user = await new_user(quota=100)
    ledger, holds = gateway_holds(db)
    real_alone = ledger.place_hold

    async def batch(placements):
        raise LeaseBusy("hold_stuck")

    async def alone(hold_id, *args):
        if hold_id == "hold_stuck":
            raise LeaseBusy(hold_id)
        return await real_alone(hold_id, *args)

    ledger.place_holds, ledger.place_hold = batch, alone
    asked = await asyncio.gather(*(holds.hold(hold_id, user, 10, f"task_{hold_id}")
                                   for hold_id in ("hold_a", "hold_stuck", "hold_b", "hold_c")),
                                 return_exceptions=True)
    assert [a.placed if not isinstance(a, BaseException) else type(a) for a in asked] == [
        True, BillingUnavailable, True, True]
    assert (await ledger.wallet(user)).held == 30
    assert await wallet_violations(db, user) == []


async def test_a_hold_not_decided_in_time_answers_billing_unavailable(db, new_user):
    user = await new_user(quota=100)
    ledger, holds = gateway_holds(db, timeout_s=0.2)
    real, release = ledger.place_holds, asyncio.Event()

    async def stalls(placements):
        await release.wait()
        return await real(placements)

    ledger.place_holds = stalls
    with pytest.raises(BillingUnavailable):
        await holds.hold("hold_slow", user, 5, "task_slow")
    release.set()
    # The write went on after the caller gave up; the caller's void (its task failed) ends it.
    await asyncio.wait_for(holds._writer, 30)
    assert (await ledger.void_hold("hold_slow", user)).outcome == "voided"
    assert await ledger.wallet(user) == Wallet(available=100, held=0, used=0, credited=100, debt=0)
    assert await wallet_violations(db, user) == []


async def test_a_gateway_that_dies_mid_placement_leaves_it_for_billings_recovery(db, new_user):
    """The writer cancelled between the hold's wallet step and its close (a process that died
    there): the lease runs out, and billing's recovery sweep finishes the placement."""
    user = await new_user(quota=100)
    ledger = Ledger(db, lease_s=0.5)
    holds = InProcessHolds(ledger, max_batch=200, timeout_s=30)
    real_close = ledger._close
    died = asyncio.Event()

    async def dies_before_close(*args, **kwargs):
        died.set()
        await asyncio.Event().wait()  # never returns: the process is gone
        return await real_close(*args, **kwargs)

    ledger._close = dies_before_close
    asking = asyncio.create_task(holds.hold("hold_orphan", user, 7, "task_orphan"))
    await asyncio.wait_for(died.wait(), 30)
    asking.cancel()
    holds._writer.cancel()
    assert (await db.holds.find_one({"_id": "hold_orphan"}))["state"] == "pending"
    billing = Ledger(db, lease_s=0.5)
    deadline = asyncio.get_running_loop().time() + 30
    while (await db.holds.find_one({"_id": "hold_orphan"}))["state"] == "pending":
        assert asyncio.get_running_loop().time() < deadline, "recovery never finished the placement"
        await billing.recover()
        await asyncio.sleep(0.1)
    assert (await db.holds.find_one({"_id": "hold_orphan"}))["state"] == "held"
    assert await billing.wallet(user) == Wallet(available=93, held=7, used=0, credited=100, debt=0)
    assert await wallet_violations(db, user) == []
