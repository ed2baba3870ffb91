"""A user's wallet as its amounts, in whole quota units: the one list of them.

Stored wallets also carry the ids of operations in flight and recently done, and each key's spend
(store.py says why); those stay with the `Ledger`, which alone reads and writes the document.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Wallet:
    """available + held + used == credited after every completed operation; `debt` is what a
    capture could not take (the cost beyond the hold, with too little available), outside that sum."""
    available: int = 0
    held: int = 0
    used: int = 0
    credited: int = 0
    debt: int = 0

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> Wallet:
        """A stored wallet or a published snapshot; an amount never written counts as 0."""
        return cls(**{name: int(doc.get(name) or 0) for name in AMOUNTS})

    def amounts(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in AMOUNTS}

    def violations(self) -> list[str]:
        """How these amounts alone break the money rules; empty when they do not."""
        problems = []
        if self.available + self.held + self.used != self.credited:
            problems.append(f"available + held + used != credited ({self})")
        if self.available < 0:
            problems.append(f"available below zero ({self.available})")
        return problems


AMOUNTS = tuple(field.name for field in dataclasses.fields(Wallet))
