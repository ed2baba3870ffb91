"""Prepaid quota: wallets, holds (place -> capture | void), top-ups and their ledger.

`rules` is the pure arithmetic and the admission decision; `writes` what each operation writes;
`store` applies operations to MongoDB with single-document atomic updates (its docstring says
how), one at a time or a batch at once.
"""
from shared.ledger.rules import CaptureSplit, capture_split, hold_rejection
from shared.ledger.store import (HoldEnd, HoldOutcome, KeySpend, LeaseBusy, Ledger, Placement, ReviewChargeOutcome,
                                 SettleOutcome, TopupOutcome)

__all__ = ["CaptureSplit", "HoldEnd", "HoldOutcome", "KeySpend", "LeaseBusy", "Ledger", "Placement",
           "ReviewChargeOutcome", "SettleOutcome", "TopupOutcome", "capture_split", "hold_rejection"]
