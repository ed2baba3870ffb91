"""shared/settlement_review.py's pure rules: which guardrail a final cost breaks, the review it
flags, and the guardrails a task snapshots from its channel. The review's lifecycle against
MongoDB is tests/settlement/test_review.py."""
from __future__ import annotations

from shared.settlement_review import breach, flagged, guardrails_of
from tests.channel_records import channel_of


def test_the_rule_caps_only_a_cost_above_the_hold_and_a_bound():
    assert breach(50, 10, {"max_charge": 20}) == "max_charge"
    assert breach(50, 10, {"max_charge_multiple": "4.5"}) == "max_charge_multiple"
    assert breach(45, 10, {"max_charge_multiple": "4.5"}) is None
    assert breach(15, 10, {"max_charge": 20, "max_charge_multiple": "2"}) is None
    assert breach(8, 10, {"max_charge": 5}) is None  # within the hold: nothing to cap
    assert breach(50, 10, None) is None


def test_a_cost_at_a_bound_is_within_it():
    assert breach(20, 10, {"max_charge": 20}) is None
    assert breach(45, 10, {"max_charge_multiple": "4.5"}) is None


def test_the_multiple_is_exact_as_the_channel_stores_it():
    # 10 x 1.1 in binary floats is 11.000000000000002, which would let a cost of 11 pass only by luck
    assert breach(11, 10, {"max_charge_multiple": "1.1"}) is None
    assert breach(12, 10, {"max_charge_multiple": "1.1"}) == "max_charge_multiple"


def test_max_charge_is_named_when_both_bounds_break():
    assert breach(100, 10, {"max_charge": 20, "max_charge_multiple": "2"}) == "max_charge"


def test_a_flagged_review_waits_for_an_admin_with_the_uncapped_figure():
    review = flagged("max_charge", 50, 10)
    assert {k: review[k] for k in ("state", "reason", "uncapped", "capped", "rest")} == \
        {"state": "pending", "reason": "max_charge", "uncapped": 50, "capped": 10, "rest": 40}
    assert review["flagged_at"].endswith("Z")


def test_a_channel_without_bounds_snapshots_no_guardrails():
    assert guardrails_of(channel_of()) is None
    assert guardrails_of(channel_of(max_charge=None, max_charge_multiple=None, name="c")) is None


def test_the_snapshot_keeps_only_the_bounds_and_the_multiple_as_a_string():
    assert guardrails_of(channel_of(max_charge=300, max_charge_multiple=2.5, name="c")) == \
        {"max_charge": 300, "max_charge_multiple": "2.5"}
    assert guardrails_of(channel_of(max_charge=0)) == {"max_charge": 0}  # zero is a bound, not its absence
