"""`Ledger.end_holds`, the settlement of a batch: a few bulk writes for the usual holds, the
one-at-a-time way for the rest, each hold ended once under redelivery, concurrency and crashes."""
from __future__ import annotations

import asyncio
import time

import pytest

from shared.ledger import HoldEnd, KeySpend, Ledger
from shared.ledger.invariants import wallet_violations
from shared.ledger.wallet import Wallet


async def _placed(ledger: Ledger, user: str, count: int, amount: int = 5, prefix: str = "hold",
                  key: KeySpend | None = None) -> list[str]:
    holds = [f"{prefix}_{i}" for i in range(count)]
    assert all(o.placed for o in await asyncio.gather(*(ledger.place_hold(h, user, amount, key) for h in holds)))
    return holds


async def _recovered(ledger: Ledger, holds: list[str], db, timeout: float = 30.0) -> None:
    """Runs the recovery sweep until every hold has ended (their leases expire first)."""
    deadline = time.monotonic() + timeout
    while await db.holds.count_documents({"_id": {"$in": holds}, "state": {"$nin": ["captured", "voided"]}}):
        assert time.monotonic() < deadline, "recovery did not end the holds"
        await ledger.recover()
        await asyncio.sleep(0.05)  # the sweep's own pace, between polls of the condition


async def test_a_batch_of_usual_ends_takes_six_commands_for_all(ledger, db, new_user, commands):
    users = [await new_user(quota=100), await new_user(quota=100)]
    holds = await _placed(ledger, users[0], 4, prefix="a") + await _placed(ledger, users[1], 4, prefix="b")
    ends = [HoldEnd(h, users[i // 4], cost=None if i % 2 else 3) for i, h in enumerate(holds)]
    commands.sent.clear()
    async with ledger.releasing_together():
        outcomes = await ledger.end_holds(ends)
    # Claim, read the claimed, wallet steps, ledger entries, closes, release: one command each.
    assert commands.sent == [("update", "holds"), ("find", "holds"), ("update", "wallets"),
                             ("update", "ledger"), ("update", "holds"), ("update", "wallets")]
    assert [(o.hold_id, o.outcome, o.charged, o.refunded) for o in outcomes] == [
        (h, "voided" if i % 2 else "captured", 0 if i % 2 else 3, 5 if i % 2 else 2) for i, h in enumerate(holds)]
    for user in users:
        assert await ledger.wallet(user) == Wallet(available=94, held=0, used=6, credited=100, debt=0)
        assert await wallet_violations(db, user) == []
    again = await ledger.end_holds(ends)  # a redelivered batch: every hold had ended, nothing moves
    assert all(o.repeated for o in again) and [o.charged for o in again] == [o.charged for o in outcomes]
    assert await ledger.wallet(users[0]) == Wallet(available=94, held=0, used=6, credited=100, debt=0)


async def test_the_unusual_end_the_one_at_a_time_way_in_the_same_batch(ledger, db, new_user):
    user = await new_user(quota=20)
    usual, beyond, twice, ended = await _placed(ledger, user, 4)
    await ledger.capture_hold(ended, 1)
    outcomes = await ledger.end_holds([
        HoldEnd(usual, user, 2), HoldEnd(beyond, user, 8), HoldEnd(twice, user, None), HoldEnd(twice, user, 4),
        HoldEnd(ended, user, 5), HoldEnd("hold_never_placed", user, None)])
    assert [(o.outcome, o.charged, o.refunded, o.debt, o.repeated) for o in outcomes] == [
        ("captured", 2, 3, 0, False),
        ("captured", 8, 0, 0, False),  # 3 beyond its hold, taken from available
        ("voided", 0, 5, 0, False), ("voided", 0, 5, 0, True),  # the first end wins
        ("captured", 1, 4, 0, True),
        ("nothing", 0, 0, 0, False)]  # cancelled: a late placement of it holds nothing
    assert not (await ledger.place_hold("hold_never_placed", user, 1)).placed
    assert await ledger.wallet(user) == Wallet(available=9, held=0, used=11, credited=20, debt=0)
    assert await wallet_violations(db, user) == []


async def test_batches_and_single_ends_of_the_same_holds_end_each_once(patient_ledger, db, new_user):
    ledger = patient_ledger
    user = await new_user(quota=400)
    key = KeySpend("key_batch")
    holds = await _placed(ledger, user, 40, key=key)
    ends = [HoldEnd(h, user, None if i % 3 == 0 else 4) for i, h in enumerate(holds)]
    singles = [ledger.capture_hold(h, 4) if e.cost else ledger.void_hold(h, user) for h, e in zip(holds[::5], ends[::5])]
    results = await asyncio.gather(ledger.end_holds(ends), ledger.end_holds(ends[::-1]), *singles)
    first, second = results[0], results[1][::-1]
    assert [(o.outcome, o.charged) for o in first] == [(o.outcome, o.charged) for o in second]
    charged = sum(o.charged for o in first)
    assert charged == 4 * sum(1 for e in ends if e.cost)
    assert await ledger.wallet(user) == Wallet(available=400 - charged, held=0, used=charged, credited=400)
    assert await ledger.key_spent(user, "key_batch") == charged
    assert await wallet_violations(db, user) == []


@pytest.mark.parametrize("crash_at", ["wallets", "ledger", "holds"])
async def test_a_batch_that_crashed_between_its_steps_is_finished_by_recovery(db, new_user, monkeypatch, crash_at):
    """A crash before the wallet steps, before the ledger entries, or before the closes: the
    recovery sweep ends every hold with the cost its claim chose, each once."""
    ledger = Ledger(db, lease_s=0.3)
    user = await new_user(quota=50)
    holds = await _placed(ledger, user, 6)
    bulk_write = type(db.holds).bulk_write
    writes = {"holds": 0}

    async def crashing(coll, requests, **kwargs):
        writes[coll.name] = writes.get(coll.name, 0) + 1
        if coll.name == crash_at and (crash_at != "holds" or writes["holds"] == 2):  # holds: the close, not the claim
            raise ConnectionError("billing died")
        return await bulk_write(coll, requests, **kwargs)
    monkeypatch.setattr(type(db.holds), "bulk_write", crashing)
    with pytest.raises(ConnectionError):
        await ledger.end_holds([HoldEnd(h, user, None if i % 2 else 2) for i, h in enumerate(holds)])
    monkeypatch.setattr(type(db.holds), "bulk_write", bulk_write)
    await _recovered(ledger, holds, db)
    outcomes = await ledger.end_holds([HoldEnd(h, user, None if i % 2 else 9) for i, h in enumerate(holds)])
    assert [(o.outcome, o.charged, o.repeated) for o in outcomes] == [
        ("voided", 0, True) if i % 2 else ("captured", 2, True) for i in range(6)]
    assert await ledger.wallet(user) == Wallet(available=44, held=0, used=6, credited=50, debt=0)
    assert await wallet_violations(db, user) == []
