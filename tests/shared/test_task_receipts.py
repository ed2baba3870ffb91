"""`shared.task_receipts`: the canonical encoding, signing and verification, and when a receipt exists."""
from __future__ import annotations

import hashlib
import hmac

import pytest
from pydantic import ValidationError

from shared.task_receipts import ReceiptSigner, TaskReceiptSettings, canonical_json, receipt_body, verify
from shared.task_record import Task

KEY = b"k" * 32
TASK = {"_id": "task_1", "user_id": "u1", "key_id": "key_1", "model": "m", "status": "SUCCESS", "hold_id": "hold_task_1",
        "billing": {"mode": "per_call", "price": 10}, "usage": {"seconds": 2.5, "note": "é"},
        "created_at": "2026-12-02T10:00:00.000000Z", "finished_at": "2026-12-02T10:00:05.000000Z"}
HOLD = {"_id": "hold_task_1", "state": "captured", "amount": 10, "charged": 10, "refunded": 0, "debt": 0,
        "settled_at": "2026-12-02T10:00:06.000000Z"}
ENTRIES = [{"_id": "hold_task_1", "kind": "hold", "at": "a", "available": -10, "held": 10},
           {"_id": "hold_task_1:capture", "kind": "capture", "at": "b", "held": -10, "used": 10}]


def receipt_of(task: dict, hold: dict | None, entries: list[dict]) -> dict | None:
    """The receipt of a task given as its stored document."""
    return receipt_body(Task.from_document(task), hold, entries)


def test_the_canonical_encoding_sorts_keys_drops_whitespace_and_escapes_non_ascii():
    assert canonical_json({"b": 1, "a": [1, {"d": "é", "c": None}]}) == b'{"a":[1,{"c":null,"d":"\\u00e9"}],"b":1}'


def test_a_signed_receipt_verifies_and_any_change_breaks_it():
    signed = ReceiptSigner(KEY, "k1").sign(receipt_of(TASK, HOLD, ENTRIES))
    expected = hmac.new(KEY, canonical_json(signed["receipt"]), hashlib.sha256).hexdigest()
    assert signed["signature"] == {"alg": "HMAC-SHA256", "key_id": "k1", "value": expected}
    assert verify(signed, {"k1": KEY})
    assert not verify(signed, {"k2": KEY}) and not verify(signed, {"k1": b"x" * 32})
    assert not verify({**signed, "receipt": {**signed["receipt"], "charged": 9}}, {"k1": KEY})
    assert not verify({"receipt": "text", "signature": signed["signature"]}, {"k1": KEY})


def test_a_receipt_has_the_holds_figures_and_entries_in_order():
    body = receipt_of(TASK, HOLD, ENTRIES)
    assert (body["outcome"], body["hold"], body["charged"], body["refunded"], body["shortfall"], body["debt"]) == (
        "captured", {"id": "hold_task_1", "amount": 10}, 10, 0, 0, 0)
    assert [e["id"] for e in body["ledger_entries"]] == ["hold_task_1", "hold_task_1:capture"]
    assert body["ledger_entries"][1] == {"id": "hold_task_1:capture", "kind": "capture", "at": "b", "available": 0,
                                         "held": -10, "used": 10, "debt": 0}
    assert (body["submitted_at"], body["settled_at"]) == (TASK["created_at"], HOLD["settled_at"])
    assert body["units"] == "0"  # without a usage_field the terms count tokens, and this usage has none
    timed = receipt_of({**TASK, "billing": {"mode": "per_usage", "price": 10, "usage_field": "seconds"}}, HOLD, [])
    assert timed["units"] == "2.5"


def test_no_receipt_before_the_hold_ends_or_while_the_task_runs():
    assert receipt_of({**TASK, "status": "IN_PROGRESS"}, HOLD, ENTRIES) is None
    assert receipt_of(TASK, {**HOLD, "state": "held"}, ENTRIES[:1]) is None
    assert receipt_of(TASK, None, []) is None
    never_held = {**TASK, "status": "FAILURE", "settled": True, "settlement": {
        "outcome": "nothing", "hold": 0, "charged": 0, "refunded": 0, "debt": 0, "settled_at": "s"}}
    assert receipt_of(never_held, {"_id": "hold_task_1", "state": "rejected", "amount": 0}, [])["outcome"] == "nothing"


def test_a_short_signing_key_is_refused_and_an_unset_one_signs_nothing():
    with pytest.raises(ValidationError, match="TASK_RECEIPT_SIGNING_KEY must be at least 24"):
        TaskReceiptSettings(task_receipt_signing_key="short")
    assert TaskReceiptSettings(task_receipt_signing_key="").receipt_signer is None
    signer = TaskReceiptSettings(task_receipt_signing_key="s" * 24).receipt_signer
    assert signer.key_id == "sha256:" + hashlib.sha256(b"s" * 24).hexdigest()[:12] and "s" * 24 not in repr(signer)


def test_a_capped_settlement_shows_its_review_and_an_approval_adds_its_charge():
    review = {"state": "approved", "reason": "max_charge", "uncapped": 50, "capped": 10, "rest": 40}
    approved = ENTRIES + [{"_id": "hold_task_1:review", "kind": "review", "at": "c", "available": -30, "used": 30,
                           "debt": 10}]
    body = receipt_of({**TASK, "review": review}, HOLD, approved)
    assert (body["charged"], body["shortfall"], body["debt"], body["cost"]) == (40, 30, 10, 50)
    assert body["review"] == {"state": "approved", "reason": "max_charge", "uncapped": 50, "capped": 10}
    assert body["ledger_entries"][2]["id"] == "hold_task_1:review"
    assert "review" not in receipt_of(TASK, HOLD, ENTRIES)
