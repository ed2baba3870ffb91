"""The ledger against a real MongoDB-wire server: concurrency, duplicates, crash recovery."""
from __future__ import annotations

import asyncio
import random
import time

from shared.config_cache import ConfigCache
from shared.ledger import HoldEnd, Ledger
from shared.ledger.invariants import wallet_violations
from shared.ledger.wallet import Wallet


async def test_concurrent_holds_never_overdraw(ledger, db, new_user):
    user = await new_user(quota=700)
    hold_ids = [f"hold_{i}" for i in range(1000)]
    outcomes = await asyncio.gather(*(ledger.place_hold(h, user, 1) for h in hold_ids))
    assert sum(o.placed for o in outcomes) == 700
    assert {o.reason for o in outcomes if not o.placed} == {"insufficient_quota"}
    assert await ledger.wallet(user) == Wallet(available=0, held=700, used=0, credited=700, debt=0)
    assert await wallet_violations(db, user) == []


async def test_duplicate_hold_requests_hold_once(ledger, db, new_user):
    user = await new_user(quota=100)
    requests = [f"hold_{i % 40}" for i in range(200)]  # each id five times, concurrently
    random.shuffle(requests)
    outcomes = await asyncio.gather(*(ledger.place_hold(h, user, 2) for h in requests))
    assert all(o.placed for o in outcomes)
    assert (await ledger.wallet(user)).held == 80
    again = await ledger.place_hold("hold_0", user, 2)
    assert again.placed and (await ledger.wallet(user)).held == 80
    assert await wallet_violations(db, user) == []


async def test_repeated_capture_and_void_change_money_once(ledger, db, new_user):
    user = await new_user(quota=100)
    await ledger.place_hold("hold_a", user, 10)
    await ledger.place_hold("hold_b", user, 10)
    captures = await asyncio.gather(*(ledger.capture_hold("hold_a", 4) for _ in range(10)))
    voids = await asyncio.gather(*(ledger.void_hold("hold_b", user) for _ in range(10)))
    assert {(c.outcome, c.charged, c.refunded) for c in captures} == {("captured", 4, 6)}
    assert {(v.outcome, v.refunded) for v in voids} == {("voided", 10)}
    assert (await ledger.void_hold("hold_a", user)).outcome == "captured"  # ended once, stays ended
    assert await ledger.wallet(user) == Wallet(available=96, held=0, used=4, credited=100, debt=0)
    assert await wallet_violations(db, user) == []


async def test_capture_above_hold_charges_shortfall_then_records_debt(ledger, db, new_user):
    user = await new_user(quota=15)
    await ledger.place_hold("hold_1", user, 10)
    first = await ledger.capture_hold("hold_1", 13)
    assert (first.charged, first.refunded, first.debt) == (13, 0, 0)
    await ledger.place_hold("hold_2", user, 2)
    second = await ledger.capture_hold("hold_2", 9)  # 2 held + 0 available: 7 cannot be covered
    assert (second.charged, second.debt) == (2, 7)
    assert await ledger.wallet(user) == Wallet(available=0, held=0, used=15, credited=15, debt=7)
    assert await wallet_violations(db, user) == []


def first_wallet_step_refused(ledger, monkeypatch) -> list[str]:
    """Makes the ledger's first wallet step find its guard failed (as when `available` moved under
    it), and the later ones apply; answers the operations of every step tried, in order."""
    apply, steps = ledger._apply, []

    async def first_guard_fails(*args, **kwargs):
        steps.append(args[1])
        return False if len(steps) == 1 else await apply(*args, **kwargs)
    monkeypatch.setattr(ledger, "_apply", first_guard_fails)
    return steps


async def test_a_capture_that_prices_its_shortfall_again_at_the_same_figures_goes_on(ledger, db, new_user,
                                                                                      monkeypatch):
    """The wallet step's guard failed (`available` moved under it, and back before the capture
    priced the shortfall again): storing the same split again changes nothing on the hold, which
    is not a lease taken over. Under load this raised LeaseBusy and left the capture to recovery."""
    user = await new_user(quota=20)
    await ledger.place_hold("hold_s", user, 5)
    steps = first_wallet_step_refused(ledger, monkeypatch)
    captured = await ledger.capture_hold("hold_s", 8)
    assert (captured.outcome, captured.charged, captured.debt) == ("captured", 8, 0)
    assert steps == ["hold_s:capture", "hold_s:capture"]
    assert await ledger.wallet(user) == Wallet(available=12, held=0, used=8, credited=20, debt=0)
    assert await wallet_violations(db, user) == []


async def test_a_review_charge_that_prices_its_split_again_at_the_same_figures_goes_on(ledger, db, new_user,
                                                                                        monkeypatch):
    """As a capture's shortfall: a review charge whose wallet step's guard failed once stores the
    same split again, and goes on."""
    user = await new_user(quota=20)
    await ledger.place_hold("hold_r", user, 5)
    await ledger.capture_hold("hold_r", 5)
    steps = first_wallet_step_refused(ledger, monkeypatch)
    charged = await ledger.charge_review("hold_r", 4)
    assert (charged.charged, charged.debt, steps) == (4, 0, ["hold_r:review", "hold_r:review"])
    assert await ledger.wallet(user) == Wallet(available=11, held=0, used=9, credited=20, debt=0)
    assert await wallet_violations(db, user) == []


async def test_repeated_topup_credits_once(ledger, db, new_user):
    user = await new_user()
    outcomes = await asyncio.gather(*(ledger.topup("topup:x", user, 50) for _ in range(20)))
    assert all(o.applied for o in outcomes)
    assert (await ledger.wallet(user)).credited == 50
    assert await wallet_violations(db, user) == []


async def test_topup_for_unknown_user_is_rejected(ledger):
    outcome = await ledger.topup("topup:ghost", "usr_ghost", 5)
    assert not outcome.applied


async def test_hold_rejections_name_their_reason(ledger, db, new_user):
    from datetime import UTC, datetime, timedelta
    disabled = await new_user(quota=10, status="disabled")
    expired = await new_user(quota=10, member_until=datetime.now(UTC) - timedelta(days=1))
    member = await new_user(quota=10, member_until=datetime.now(UTC) + timedelta(days=1))
    assert (await ledger.place_hold("h1", disabled, 1)).reason == "user_disabled"
    assert (await ledger.place_hold("h2", expired, 1)).reason == "not_member"
    assert (await ledger.place_hold("h3", "usr_missing", 1)).reason == "user_not_found"
    assert (await ledger.place_hold("h4", member, 1)).placed
    assert (await ledger.wallet(disabled)).held == 0


async def test_void_before_placement_cancels_the_late_hold(ledger, db, new_user):
    user = await new_user(quota=10)
    assert (await ledger.void_hold("hold_late", user)).outcome == "nothing"
    late = await ledger.place_hold("hold_late", user, 5)
    assert not late.placed and late.reason == "cancelled"
    assert (await ledger.wallet(user)).available == 10


async def test_recovery_finishes_a_placement_interrupted_after_the_wallet_step(ledger, db, new_user):
    user = await new_user(quota=10)
    # What a worker leaves when it dies right after the wallet update: the operation still
    # pending (lease expired) and its id in wallet.pending.
    await db.holds.insert_one({"_id": "hold_x", "user_id": user, "amount": 4, "state": "pending",
                               "lease": "dead", "lease_until": time.time() - 1})
    await db.wallets.update_one({"_id": user}, {"$inc": {"available": -4, "held": 4},
                                                "$push": {"pending": "hold_x"}})
    assert await ledger.recover() == 1
    assert (await db.holds.find_one({"_id": "hold_x"}))["state"] == "held"
    assert await ledger.wallet(user) == Wallet(available=6, held=4, used=0, credited=10, debt=0)
    assert await wallet_violations(db, user) == []


async def test_recovery_finishes_an_interrupted_capture_with_its_recorded_split(ledger, db, new_user):
    user = await new_user(quota=10)
    await ledger.place_hold("hold_y", user, 5)
    split = {"hold": 5, "charged": 3, "refund": 2, "shortfall": 0, "debt": 0}
    await db.holds.update_one({"_id": "hold_y"}, {"$set": {
        "state": "capturing", "cost": 3, "split": split, "lease": "dead", "lease_until": time.time() - 1}})
    await db.wallets.update_one({"_id": user}, {"$inc": {"held": -5, "used": 3, "available": 2},
                                                "$push": {"pending": "hold_y:capture"}})
    assert await ledger.recover() == 1
    assert (await ledger.capture_hold("hold_y", 3)).charged == 3
    assert await ledger.wallet(user) == Wallet(available=7, held=0, used=3, credited=10, debt=0)
    assert await wallet_violations(db, user) == []


async def test_interleaved_operations_keep_invariants(patient_ledger, db, new_user):
    ledger = patient_ledger
    users = [await new_user(quota=50) for _ in range(5)]
    rng = random.Random(7)
    ops = []
    for i in range(300):
        user = rng.choice(users)
        hold = f"hold_{i % 120}_{users.index(user)}"
        kind = rng.choice(["place", "place", "capture", "void", "topup"])
        if kind == "place":
            ops.append(ledger.place_hold(hold, user, rng.randint(0, 5)))
        elif kind == "capture":
            ops.append(ledger.capture_hold(hold, rng.randint(0, 8)))
        elif kind == "void":
            ops.append(ledger.void_hold(hold, user))
        else:
            ops.append(ledger.topup(f"topup:{user}:{i % 10}", user, 5))
    await asyncio.gather(*ops)
    for user in users:
        assert await wallet_violations(db, user) == []


async def test_resumed_void_applies_once_while_other_operations_are_in_flight(ledger, db, new_user):
    user = await new_user(quota=30)
    await ledger.place_hold("hold_v", user, 10)
    # A worker died after the void's wallet step; other operations are in flight meanwhile.
    await db.holds.update_one({"_id": "hold_v"}, {"$set": {"state": "voiding", "lease": "dead",
                                                           "lease_until": time.time() - 1}})
    await db.wallets.update_one({"_id": user}, {"$inc": {"held": -10, "available": 10},
                                                "$push": {"pending": {"$each": ["other_op", "hold_v:void"]}}})
    assert (await ledger.void_hold("hold_v", user)).outcome == "voided"
    wallet = await ledger.wallet(user)
    assert (wallet.available, wallet.held) == (30, 0)
    assert (await db.wallets.find_one({"_id": user}))["pending"] == ["other_op"]


async def test_recovery_pulls_ids_left_behind_by_a_worker_that_died_before_the_pull(ledger, db, new_user):
    user = await new_user(quota=10)
    await ledger.place_hold("hold_done", user, 3)
    await ledger.place_hold("hold_busy", user, 2)
    # hold_done finished but its id stayed; hold_busy is genuinely mid-placement (lease alive).
    await db.holds.update_one({"_id": "hold_busy"}, {"$set": {"state": "pending", "lease": "alive",
                                                              "lease_until": time.time() + 60}})
    await db.wallets.update_one({"_id": user}, {"$push": {"pending": {"$each": ["hold_done", "hold_busy"]}}})
    await ledger.recover()
    assert (await db.wallets.find_one({"_id": user}))["pending"] == ["hold_busy"]
    assert await ledger.wallet(user) == Wallet(available=5, held=5, used=0, credited=10, debt=0)


async def test_holds_open_too_long_are_counted_until_they_settle(ledger, db, new_user):
    user = await new_user(quota=100)
    await ledger.place_hold("hold_old", user, 5)
    await ledger.place_hold("hold_new", user, 5)
    # The first was placed long ago: the stored stamp is the clock, so nothing waits.
    long_ago = {"$set": {"open_since": "2000-01-01T00:00:00.000000Z"}}
    await db.holds.update_one({"_id": "hold_old"}, long_ago)
    assert await ledger.count_holds_open_since(3600) == 1
    await ledger.void_hold("hold_old", user)
    assert await ledger.count_holds_open_since(3600) == 0
    await db.holds.update_one({"_id": "hold_new"}, long_ago)
    assert await ledger.count_holds_open_since(3600) == 1
    await ledger.end_holds([HoldEnd("hold_new", user, 3)])  # a batch's end, too, closes it
    assert await ledger.count_holds_open_since(3600) == 0
    assert all("open_since" not in hold for hold in await db.holds.find().to_list(None))


async def _stall_first_wallet_step(ledger, monkeypatch):
    """Makes the first wallet step wait until released: the first worker stalls past its lease."""
    stalled, release = asyncio.Event(), asyncio.Event()
    apply = ledger._apply

    async def first_waits(*args, **kwargs):
        if not stalled.is_set():
            stalled.set()
            await release.wait()
        return await apply(*args, **kwargs)
    monkeypatch.setattr(ledger, "_apply", first_waits)
    return stalled, release


async def test_a_placement_stalled_past_its_lease_is_not_applied_again(ledger, db, new_user, monkeypatch):
    user = await new_user(quota=20)
    stalled, release = await _stall_first_wallet_step(ledger, monkeypatch)
    first = asyncio.create_task(ledger.place_hold("hold_s", user, 5))
    await stalled.wait()
    await db.holds.update_one({"_id": "hold_s"}, {"$set": {"lease_until": 0.0}})  # its lease runs out
    assert (await ledger.place_hold("hold_s", user, 5)).placed  # a redelivery takes over and finishes
    release.set()
    assert (await first).placed
    assert await ledger.wallet(user) == Wallet(available=15, held=5, used=0, credited=20, debt=0)
    assert await wallet_violations(db, user) == []


async def test_a_placement_stalled_past_its_lease_is_not_applied_after_a_void_cancelled_it(ledger, db, new_user,
                                                                                          monkeypatch):
    """The gateway gave up on a slow placement and voided it: the void cancels the hold before
    its wallet step, so the placer, waking, must not hold the money (seen in the chaos run)."""
    user = await new_user(quota=20)
    stalled, release = await _stall_first_wallet_step(ledger, monkeypatch)
    first = asyncio.create_task(ledger.place_hold("hold_x", user, 5))
    await stalled.wait()
    await db.holds.update_one({"_id": "hold_x"}, {"$set": {"lease_until": 0.0}})
    assert (await ledger.void_hold("hold_x", user)).outcome == "nothing"
    release.set()
    late = await first
    assert (late.placed, late.reason) == (False, "cancelled")
    assert (await db.holds.find_one({"_id": "hold_x"}))["state"] == "rejected"
    assert await ledger.wallet(user) == Wallet(available=20, held=0, used=0, credited=20, debt=0)
    assert await db.ledger.count_documents({"_id": "hold_x"}) == 0
    assert await wallet_violations(db, user) == []


async def test_a_capture_stalled_past_its_lease_is_not_applied_again(ledger, db, new_user, monkeypatch):
    user = await new_user(quota=20)
    await ledger.place_hold("hold_c", user, 5)
    stalled, release = await _stall_first_wallet_step(ledger, monkeypatch)
    first = asyncio.create_task(ledger.capture_hold("hold_c", 3))
    await stalled.wait()
    await db.holds.update_one({"_id": "hold_c"}, {"$set": {"lease_until": 0.0}})
    assert (await ledger.capture_hold("hold_c", 3)).outcome == "captured"
    release.set()
    await first
    assert await ledger.wallet(user) == Wallet(available=17, held=0, used=3, credited=20, debt=0)
    assert await wallet_violations(db, user) == []


async def test_recovery_finishes_a_capture_claimed_with_only_its_cost(ledger, db, new_user):
    user = await new_user(quota=10)
    await ledger.place_hold("hold_k", user, 5)
    # What a worker leaves when it dies right after claiming a capture within the hold: the
    # cost is on the hold, no split (the cost alone decides it), the wallet untouched.
    await db.holds.update_one({"_id": "hold_k"}, {"$set": {
        "state": "capturing", "cost": 2, "lease": "dead", "lease_until": time.time() - 1}})
    assert await ledger.recover() == 1
    assert (await ledger.capture_hold("hold_k", 4)).charged == 2  # the recorded cost wins
    assert await ledger.wallet(user) == Wallet(available=8, held=0, used=2, credited=10, debt=0)
    assert await wallet_violations(db, user) == []


async def test_recovery_prices_a_shortfall_claimed_before_its_split_was_stored(ledger, db, new_user):
    user = await new_user(quota=10)
    await ledger.place_hold("hold_m", user, 5)
    await db.holds.update_one({"_id": "hold_m"}, {"$set": {
        "state": "capturing", "cost": 7, "lease": "dead", "lease_until": time.time() - 1}})
    assert await ledger.recover() == 1
    assert (await ledger.capture_hold("hold_m", 7)).charged == 7
    assert await ledger.wallet(user) == Wallet(available=3, held=0, used=7, credited=10, debt=0)
    assert await wallet_violations(db, user) == []


async def test_recovery_finishes_a_void_claimed_before_its_wallet_step(ledger, db, new_user):
    user = await new_user(quota=10)
    await ledger.place_hold("hold_w", user, 6)
    await db.holds.update_one({"_id": "hold_w"}, {"$set": {"state": "voiding", "lease": "dead",
                                                           "lease_until": time.time() - 1}})
    assert await ledger.recover() == 1
    assert await ledger.wallet(user) == Wallet(available=10, held=0, used=0, credited=10, debt=0)
    assert await wallet_violations(db, user) == []


async def test_a_capture_within_its_hold_and_a_void_read_nothing_before_the_wallet_step(ledger, db, new_user,
                                                                                        monkeypatch):
    """The usual settlement is five commands: claim, wallet step, ledger entry, close, release."""
    user = await new_user(quota=20)
    await ledger.place_hold("hold_p", user, 5)
    await ledger.place_hold("hold_q", user, 5)
    reads = []
    for name in ("find_one", "find"):
        for coll in (db.wallets, db.holds):
            original = getattr(type(coll), name)
            monkeypatch.setattr(type(coll), name, lambda self, *a, _o=original, **k: reads.append(a) or _o(self, *a, **k))
    assert (await ledger.capture_hold("hold_p", 3)).charged == 3
    assert (await ledger.void_hold("hold_q", user)).refunded == 5
    assert reads == []
    assert await wallet_violations(db, user) == []


async def test_placements_read_a_user_through_the_cache_they_are_given(db, new_user):
    user = await new_user(quota=10)
    cached = Ledger(db, lease_s=2.0, users=ConfigCache(60.0))
    assert (await cached.place_hold("hold_c1", user, 1)).placed
    await db.users.update_one({"_id": user}, {"$set": {"status": "disabled"}})  # through another process
    assert (await cached.place_hold("hold_c2", user, 1)).placed  # within the cache's bound
    assert (await Ledger(db).place_hold("hold_c3", user, 1)).reason == "user_disabled"  # no cache: at once


async def test_operations_finished_together_release_their_wallet_ids_in_one_write(ledger, db, new_user, commands):
    users = [await new_user(quota=50), await new_user(quota=50)]
    commands.sent.clear()
    async with ledger.releasing_together():
        await asyncio.gather(*(ledger.place_hold(f"hold_t{i}", users[i % 2], 2) for i in range(6)))
        assert len((await db.wallets.find_one({"_id": users[0]}))["pending"]) == 3  # released at the end
    # Per placement: the hold inserted, its wallet step, its ledger entry, its close; then one
    # write releases the six ids from both wallets.
    assert commands.sent.count(("update", "wallets")) == 6 + 1
    async with ledger.releasing_together():
        await asyncio.gather(ledger.capture_hold("hold_t0", 1), ledger.void_hold("hold_t2", users[0]))
    wallet = await db.wallets.find_one({"_id": users[0]})
    assert wallet["pending"] == [] and {"hold_t0:capture", "hold_t2:void"} <= set(wallet["done"])
    assert await ledger.wallet(users[0]) == Wallet(available=47, held=2, used=1, credited=50, debt=0)
    assert [await wallet_violations(db, user) for user in users] == [[], []]


async def test_a_users_ledger_entries_page_newest_first_with_their_count(ledger, new_user):
    user, other = await new_user(quota=10), await new_user(quota=5)
    await ledger.topup(f"topup:{user}:more", user, 7)
    await ledger.place_hold(f"hold:{user}", user, 3)
    rows, total = await ledger.entries(user, limit=2, offset=0)
    assert total == 3 and [row["kind"] for row in rows] == ["hold", "topup"]
    rest, _ = await ledger.entries(user, limit=2, offset=2)
    assert [(row["kind"], row["user_id"]) for row in rest] == [("topup", user)]
    assert (await ledger.entries(other, limit=10, offset=0))[1] == 1
