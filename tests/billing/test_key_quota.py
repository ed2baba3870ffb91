"""A key's quota limit in the ledger: the key's spend lives on its user's wallet and is guarded
by the same single-document update that places the hold, so no concurrency can exceed it."""
from __future__ import annotations

import asyncio

from shared.ledger import KeySpend
from shared.ledger.invariants import wallet_violations
from shared.ledger.wallet import Wallet


async def test_concurrent_holds_never_take_a_key_past_its_quota(ledger, db, new_user):
    user = await new_user(quota=1000)
    capped = KeySpend("key_capped", quota=50)
    outcomes = await asyncio.gather(*(ledger.place_hold(f"hold_{i}", user, 1, capped) for i in range(300)))
    assert sum(o.placed for o in outcomes) == 50
    assert {o.reason for o in outcomes if not o.placed} == {"key_quota_exceeded"}
    assert await ledger.key_spent(user, "key_capped") == 50
    other = await ledger.place_hold("hold_other", user, 7, KeySpend("key_other"))
    assert other.placed  # the user's other key keeps spending the same wallet
    assert await ledger.wallet(user) == Wallet(available=943, held=57, used=0, credited=1000, debt=0)
    assert await wallet_violations(db, user) == []


async def test_duplicate_hold_requests_count_to_the_key_once(ledger, db, new_user):
    user = await new_user(quota=100)
    key = KeySpend("key_a", quota=30)
    outcomes = await asyncio.gather(*(ledger.place_hold(f"hold_{i % 10}", user, 3, key) for i in range(60)))
    assert all(o.placed for o in outcomes)
    assert await ledger.key_spent(user, "key_a") == 30
    assert not (await ledger.place_hold("hold_more", user, 1, key)).placed
    assert await wallet_violations(db, user) == []


async def test_settling_moves_the_keys_spend_to_what_was_charged(ledger, db, new_user):
    user = await new_user(quota=100)
    key = KeySpend("key_a", quota=20)
    await ledger.place_hold("hold_1", user, 10, key)
    await ledger.place_hold("hold_2", user, 10, key)
    assert not (await ledger.place_hold("hold_3", user, 1, key)).placed
    await ledger.capture_hold("hold_1", 4)
    await ledger.void_hold("hold_2", user)
    assert await ledger.key_spent(user, "key_a") == 4
    assert (await ledger.place_hold("hold_4", user, 16, key)).placed  # room freed by the refunds
    assert await wallet_violations(db, user) == []


async def test_a_shortfall_beyond_the_key_quota_becomes_debt(ledger, db, new_user):
    user = await new_user(quota=100)
    await ledger.place_hold("hold_1", user, 10, KeySpend("key_a", quota=12))
    settled = await ledger.capture_hold("hold_1", 15)  # the wallet could pay, the key may add only 2
    assert (settled.charged, settled.debt) == (12, 3)
    assert await ledger.key_spent(user, "key_a") == 12
    assert await ledger.wallet(user) == Wallet(available=88, held=0, used=12, credited=100, debt=3)
    assert await wallet_violations(db, user) == []


async def test_a_hold_larger_than_the_whole_key_quota_is_rejected(ledger, db, new_user):
    user = await new_user(quota=100)
    outcome = await ledger.place_hold("hold_1", user, 11, KeySpend("key_a", quota=10))
    assert (outcome.placed, outcome.reason) == (False, "key_quota_exceeded")
    assert await ledger.wallet(user) == Wallet(available=100, held=0, used=0, credited=100, debt=0)
