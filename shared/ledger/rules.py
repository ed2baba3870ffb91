"""Pure money rules: who may hold quota, and how a final cost splits against a hold."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.clock import parse


def hold_rejection(user: dict[str, Any] | None, now: datetime) -> str | None:
    """Why this user may not place a hold now, or None when they may.

    Membership: `member_until` null means the user needs no membership; a date means they
    are a member until then, so a date in the past rejects with `not_member`.
    """
    if user is None:
        return "user_not_found"
    if user.get("status", "active") != "active":
        return "user_disabled"
    member_until = user.get("member_until")
    if member_until is not None and parse(member_until) <= now:
        return "not_member"
    return None


@dataclass(frozen=True)
class CaptureSplit:
    """How a capture moves money. `charged` leaves the wallet (to `used`), `refund` returns
    to `available`, `shortfall` is taken from `available` beyond the hold, and `debt` is what
    the wallet could not cover (recorded, never silently dropped)."""

    hold: int
    charged: int
    refund: int
    shortfall: int
    debt: int

    @property
    def available_delta(self) -> int:
        return self.refund - self.shortfall


def capture_split(hold: int, cost: int, available: int) -> CaptureSplit:
    if hold < 0 or cost < 0 or available < 0:
        raise ValueError("amounts are non-negative integers")
    if cost <= hold:
        return CaptureSplit(hold=hold, charged=cost, refund=hold - cost, shortfall=0, debt=0)
    wanted = cost - hold
    shortfall = min(wanted, available)
    return CaptureSplit(hold=hold, charged=hold + shortfall, refund=0, shortfall=shortfall,
                        debt=wanted - shortfall)
