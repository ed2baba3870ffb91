"""The wallet record (shared/ledger/wallet.py): its amounts, and the rules they alone can break."""
from __future__ import annotations

from shared.ledger.wallet import AMOUNTS, Wallet


def test_a_document_gives_its_amounts_and_an_amount_never_written_is_zero():
    stored = {"_id": "usr_1", "available": 7, "held": 3, "used": 0, "credited": 10, "pending": ["op"],
              "keys": {"key_1": {"spent": 3}}}  # what the ledger keeps beside the amounts is not the record's
    assert Wallet.from_document(stored) == Wallet(available=7, held=3, credited=10)
    assert Wallet.from_document({"available": None}) == Wallet()


def test_amounts_are_the_five_fields_in_one_order():
    assert AMOUNTS == ("available", "held", "used", "credited", "debt")
    assert Wallet(1, 2, 3, 6, 4).amounts() == {"available": 1, "held": 2, "used": 3, "credited": 6, "debt": 4}


def test_a_sound_wallet_has_no_violations_and_debt_stays_outside_the_sum():
    assert Wallet(available=5, held=2, used=3, credited=10, debt=9).violations() == []


def test_the_sum_and_a_negative_balance_are_reported():
    assert Wallet(available=5, held=2, used=3, credited=11).violations() == [
        "available + held + used != credited (Wallet(available=5, held=2, used=3, credited=11, debt=0))"]
    assert Wallet(available=-1, used=1).violations() == ["available below zero (-1)"]
