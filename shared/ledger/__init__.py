"""Prepaid quota: wallets, holds (place -> capture | void), top-ups and their ledger.

`rules` is the pure arithmetic and the admission decision; `store` applies operations to
MongoDB with single-document atomic updates (DESIGN.md, "How to move money").
"""
from shared.ledger.rules import CaptureSplit, capture_split, hold_rejection
from shared.ledger.store import (HoldEnd, HoldOutcome, KeySpend, Ledger, Placement, ReviewChargeOutcome, SettleOutcome,
                                 TopupOutcome)

__all__ = ["CaptureSplit", "HoldEnd", "HoldOutcome", "KeySpend", "Ledger", "Placement", "ReviewChargeOutcome",
           "SettleOutcome", "TopupOutcome", "capture_split", "hold_rejection"]
