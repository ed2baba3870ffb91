"""`Ledger.place_holds`, billing's batch of hold requests: a few bulk writes for the usual
placements, the one-at-a-time way for the rest, each hold placed once under redelivery,
concurrency and crashes."""
from __future__ import annotations

import asyncio
import random
import time

import pytest

from shared.ledger import KeySpend, Ledger, Placement
from shared.ledger.invariants import wallet_violations
from shared.ledger.wallet import Wallet


async def _recovered(ledger: Ledger, holds: list[str], db, timeout: float = 30.0) -> None:
    """Runs the recovery sweep until no hold is pending any more (their leases expire first)."""
    deadline = time.monotonic() + timeout
    while await db.holds.count_documents({"_id": {"$in": holds}, "state": "pending"}):
        assert time.monotonic() < deadline, "recovery did not finish the placements"
        await ledger.recover()
        await asyncio.sleep(0.05)  # the sweep's own pace, between polls of the condition


async def test_a_batch_of_usual_placements_takes_five_writes_for_all(ledger, db, new_user, commands):
    users = [await new_user(quota=100), await new_user(quota=100)]
    placements = [Placement(f"hold_{i}", users[i % 2], 5, KeySpend("key_a") if i < 4 else None) for i in range(8)]
    commands.sent.clear()
    async with ledger.releasing_together():
        outcomes = await ledger.place_holds(placements)
    # The holds inserted, the wallet steps, the ledger entries, the closes, the release; the
    # users' standing is read once each (the fixture's ledger has no users cache).
    assert [c for c in commands.sent if c != ("find", "users")] == [
        ("insert", "holds"), ("update", "wallets"), ("update", "ledger"), ("update", "holds"), ("update", "wallets")]
    assert commands.sent.count(("find", "users")) == 2
    assert [(o.hold_id, o.placed, o.amount) for o in outcomes] == [(f"hold_{i}", True, 5) for i in range(8)]
    for user in users:
        assert await ledger.wallet(user) == Wallet(available=80, held=20, used=0, credited=100, debt=0)
        assert await wallet_violations(db, user) == []
    assert await ledger.key_spent(users[0], "key_a") == 10
    again = await ledger.place_holds(placements)  # a redelivered batch: each was placed, nothing moves
    assert [o.placed for o in again] == [True] * 8
    assert await ledger.wallet(users[1]) == Wallet(available=80, held=20, used=0, credited=100, debt=0)


async def test_a_wallet_short_of_the_batch_together_places_what_it_covers(ledger, db, new_user, commands):
    user, other = await new_user(quota=12), await new_user(quota=100)
    commands.sent.clear()
    outcomes = await ledger.place_holds([Placement(f"hold_{i}", user if i < 3 else other, 5) for i in range(5)])
    assert commands.sent.count(("update", "wallets")) >= 2  # the batch's wallet steps, then one at a time
    assert sorted(o.placed for o in outcomes[:3]) == [False, True, True] and all(o.placed for o in outcomes[3:])
    assert await ledger.wallet(user) == Wallet(available=2, held=10, used=0, credited=12, debt=0)
    assert await ledger.wallet(other) == Wallet(available=90, held=10, used=0, credited=100, debt=0)
    assert [await wallet_violations(db, u) for u in (user, other)] == [[], []]


async def test_the_unusual_place_the_one_at_a_time_way_in_the_same_batch(ledger, db, new_user):
    user, disabled = await new_user(quota=20), await new_user(quota=20, status="disabled")
    await ledger.place_hold("hold_before", user, 2)
    await ledger.void_hold("hold_cancelled", user)  # voided before its placement arrived
    quota = KeySpend("key_q", quota=6)
    outcomes = await ledger.place_holds([
        Placement("hold_usual", user, 3), Placement("hold_before", user, 2), Placement("hold_usual", user, 3),
        Placement("hold_disabled", disabled, 1), Placement("hold_q1", user, 4, quota),
        Placement("hold_q2", user, 4, quota), Placement("hold_big", user, 50), Placement("hold_cancelled", user, 1)])
    assert [(o.hold_id, o.placed, o.reason) for o in outcomes] == [
        ("hold_usual", True, None), ("hold_before", True, None), ("hold_usual", True, None),
        ("hold_disabled", False, "user_disabled"), ("hold_q1", True, None), ("hold_q2", False, "key_quota_exceeded"),
        ("hold_big", False, "insufficient_quota"), ("hold_cancelled", False, "cancelled")]
    assert await ledger.wallet(user) == Wallet(available=11, held=9, used=0, credited=20, debt=0)
    assert [await wallet_violations(db, u) for u in (user, disabled)] == [[], []]


async def test_concurrent_batches_with_redeliveries_never_overdraw(ledger, db, new_user):
    users = [await new_user(quota=30), await new_user(quota=30)]
    placements = [Placement(f"hold_{u}_{i}", u, 1) for u in users for i in range(50)]
    rng = random.Random(5)
    batches = [rng.sample(placements, 40) for _ in range(5)]  # every hold in about four batches
    outcomes = [o for batch in await asyncio.gather(*(ledger.place_holds(b) for b in batches)) for o in batch]
    placed = {o.hold_id for o in outcomes if o.placed}
    assert {o.hold_id: o.placed for o in outcomes} == {o.hold_id: o.hold_id in placed for o in outcomes}  # agree
    for user in users:
        assert sum(hold.startswith(f"hold_{user}_") for hold in placed) == 30
        assert await ledger.wallet(user) == Wallet(available=0, held=30, used=0, credited=30, debt=0)
        assert await wallet_violations(db, user) == []


@pytest.mark.parametrize("crash_at", ["wallets", "ledger", "holds"])
async def test_a_batch_that_crashed_between_its_steps_is_finished_by_recovery(db, new_user, monkeypatch, crash_at):
    """A crash before the wallet steps, before the ledger entries, or before the closes: the
    recovery sweep places every hold once."""
    ledger = Ledger(db, lease_s=0.3)
    user = await new_user(quota=50)
    holds = [f"hold_{i}" for i in range(6)]
    bulk_write = type(db.holds).bulk_write

    async def crashing(coll, requests, **kwargs):
        if coll.name == crash_at:
            raise ConnectionError("billing died")
        return await bulk_write(coll, requests, **kwargs)
    monkeypatch.setattr(type(db.holds), "bulk_write", crashing)
    with pytest.raises(ConnectionError):
        await ledger.place_holds([Placement(h, user, 4, KeySpend("key_c")) for h in holds])
    monkeypatch.setattr(type(db.holds), "bulk_write", bulk_write)
    await _recovered(ledger, holds, db)
    assert [o.placed for o in await ledger.place_holds([Placement(h, user, 4) for h in holds])] == [True] * 6
    assert await ledger.wallet(user) == Wallet(available=26, held=24, used=0, credited=50, debt=0)
    assert await ledger.key_spent(user, "key_c") == 24
    assert await wallet_violations(db, user) == []
