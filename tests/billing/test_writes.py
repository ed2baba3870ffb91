"""shared/ledger/writes.py: what each money operation writes. A wallet step moves exactly what
its ledger entry records (plus the key's spend), a hold placed and ended moves only its cost, and
every id is derived from the hold's, so a retried operation names the same write."""
from __future__ import annotations

from collections import Counter

import pytest

from shared.ledger.rules import capture_split
from shared.ledger.wallet import AMOUNTS
from shared.ledger.writes import (DONE_KEPT, capture_entry, capture_inc, chosen_split, end_entry,
                                  end_fields, end_inc, end_op, ends_usually, key_spent_field, placement_entry,
                                  placement_inc, release_step, void_entry, void_inc, wallet_step,
                                  wallet_steps_together)

HOLD = {"_id": "hold_task_1", "user_id": "usr_1", "amount": 10, "key_id": "key_1"}
SPENT = key_spent_field("key_1")


def moved(*deltas: dict[str, int]) -> dict[str, int]:
    """The net change of a wallet's fields over several operations."""
    total: Counter[str] = Counter()
    for delta in deltas:
        total.update(delta)
    return {field: amount for field, amount in total.items() if amount}


def without_key(inc: dict[str, int]) -> dict[str, int]:
    return {field: amount for field, amount in inc.items() if field != SPENT}


@pytest.mark.parametrize("cost,available", [(6, 0), (10, 0), (13, 5), (13, 1), (0, 0)])
def test_each_wallet_step_moves_what_its_ledger_entry_records(cost, available):
    split = capture_split(10, cost, available)
    steps = ((placement_inc(HOLD), placement_entry(HOLD)), (capture_inc(HOLD, split), capture_entry(HOLD, split)),
             (void_inc(HOLD), void_entry(HOLD)))
    for inc, entry in steps:
        assert without_key(inc) == entry[3]
        assert set(entry[3]) <= set(AMOUNTS)


@pytest.mark.parametrize("cost,available,net", [
    (6, 0, {"available": -6, "used": 6}),  # the rest of the hold went back
    (10, 0, {"available": -10, "used": 10}),
    (13, 5, {"available": -13, "used": 13}),  # the shortfall came from available
    (13, 1, {"available": -11, "used": 11, "debt": 2}),  # what available could not cover is owed
    (0, 0, {}),
])
def test_a_hold_placed_and_captured_moves_only_its_cost(cost, available, net):
    split = capture_split(10, cost, available)
    assert moved(placement_entry(HOLD)[3], capture_entry(HOLD, split)[3]) == net
    assert moved(placement_inc(HOLD), capture_inc(HOLD, split)).get(SPENT, 0) == split.charged  # the key's spend too


def test_a_hold_placed_and_voided_moves_nothing():
    assert moved(placement_inc(HOLD), void_inc(HOLD)) == {}


def test_a_hold_without_a_key_spends_no_key():
    keyless = {**HOLD, "key_id": None}
    split = capture_split(10, 6, 0)
    assert not any(field.startswith("keys.") for field in {**placement_inc(keyless), **capture_inc(keyless, split),
                                                           **void_inc(keyless)})


def test_ending_ids_are_derived_from_the_hold():
    assert end_op({**HOLD, "state": "voiding"}) == void_entry(HOLD)[0] == "hold_task_1:void"
    assert end_op({**HOLD, "state": "capturing", "cost": 6}) == capture_entry(HOLD, capture_split(10, 6, 0))[0] \
        == "hold_task_1:capture"
    assert placement_entry(HOLD)[0] == "hold_task_1"


def test_a_capture_within_the_hold_is_decided_by_its_cost_alone():
    capturing = {**HOLD, "state": "capturing", "cost": 6}
    assert chosen_split(capturing) == capture_split(10, 6, 0) and ends_usually(capturing)
    assert end_fields(capturing)["refunded"] == 4 and end_inc(capturing) == capture_inc(HOLD, capture_split(10, 6, 0))


def test_a_capture_above_the_hold_waits_for_its_split_then_applies_the_stored_one():
    unpriced = {**HOLD, "state": "capturing", "cost": 13}
    assert chosen_split(unpriced) is None and not ends_usually(unpriced)
    stored = capture_split(10, 13, 1)
    priced = {**unpriced, "split": {"hold": 10, "charged": 11, "refund": 0, "shortfall": 1, "debt": 2}}
    assert chosen_split(priced) == stored and ends_usually(priced)
    assert end_entry(priced) == capture_entry(HOLD, stored)


def test_a_void_refunds_the_whole_hold():
    voiding = {**HOLD, "state": "voiding"}
    assert ends_usually(voiding)
    assert {k: end_fields(voiding)[k] for k in ("state", "charged", "refunded", "debt")} == \
        {"state": "voided", "charged": 0, "refunded": 10, "debt": 0}
    assert end_entry(voiding) == void_entry(HOLD) and end_inc(voiding) == void_inc(HOLD)


def test_a_wallet_step_applies_once_and_never_after_its_bar():
    query, update = wallet_step("usr_1", "hold_task_1", {"available": -10, "held": 10, "used": 0},
                                {"available": {"$gte": 10}}, barred_by="hold_task_1:barred")
    assert query == {"_id": "usr_1", "pending": {"$nin": ["hold_task_1"]},
                     "done": {"$nin": ["hold_task_1", "hold_task_1:barred"]}, "available": {"$gte": 10}}
    assert update == {"$inc": {"available": -10, "held": 10}, "$push": {"pending": "hold_task_1"}}  # no zero $inc


def test_released_operations_are_kept_as_done_up_to_a_bound():
    query, update = release_step("usr_1", ["hold_a", "hold_b"])
    assert query == {"_id": "usr_1"}
    assert update == {"$pull": {"pending": {"$in": ["hold_a", "hold_b"]}},
                      "$push": {"done": {"$each": ["hold_a", "hold_b"], "$slice": -DONE_KEPT}}}


def test_steps_of_one_wallet_together_add_up_their_moves_and_guards():
    holds = [{**HOLD, "_id": f"hold_task_{n}", "amount": n} for n in (2, 3)]
    steps = [(hold["_id"], placement_inc(hold), {"available": {"$gte": hold["amount"]}}, f"{hold['_id']}:barred")
             for hold in holds]
    condition, update = wallet_steps_together("usr_1", steps)
    assert condition == {"_id": "usr_1", "pending": {"$nin": ["hold_task_2", "hold_task_3"]},
                         "done": {"$nin": ["hold_task_2", "hold_task_3", "hold_task_2:barred", "hold_task_3:barred"]},
                         "available": {"$gte": 5}}
    assert update == {"$inc": moved(*(placement_inc(hold) for hold in holds)),
                      "$push": {"pending": {"$each": ["hold_task_2", "hold_task_3"]}}}


def test_steps_that_cannot_be_added_up_are_not_put_together():
    step = ("hold_task_1", placement_inc(HOLD), {}, None)
    assert wallet_steps_together("usr_1", [step, step]) is None  # one op twice would apply twice
    guarded = ("hold_task_2", placement_inc(HOLD), {SPENT: {"$lte": 5}}, None)
    assert wallet_steps_together("usr_1", [step, guarded]) is None  # a key quota's guard does not add up
