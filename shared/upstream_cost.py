"""What the upstream says a task cost it, recorded beside our charge so the two can be reconciled.

Each provider reads the figure its upstream reports (CustomPass `usage.cost`, RunningHub
`consumeMoney`, Replicate `metrics.predict_time` x the channel's `upstream_cost_per_second`) in the
channel's `upstream_cost_unit` (`{"name": "USD", "quota_per_unit": 500000}`; unset: the figures
are quota units already). The figure is untrusted: one that is not a plain number, is negative,
not finite, or above MAX_UPSTREAM_COST units is rejected (`CostRejected`), so it is counted and
ignored, never stored and never a crash. An accepted one is stored on the task as

    upstream_cost: {"amount": "0.05", "unit": "USD", "quota": 25000}

`amount` the exact decimal as reported (a string: no float rounding), `unit` and `quota` (the
amount in whole quota units at the channel's rate, half-even) snapshotted when the task ended, so a
later change of the channel's unit never rewrites what was recorded.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # this module is pure: the record is only a type here
    from shared.channels import Channel

# The most one task may cost in its channel's unit; a larger figure is an upstream's error.
MAX_UPSTREAM_COST = Decimal(10**9)
# The most quota a recorded cost may convert to (the gateway's own bound on any amount).
MAX_COST_QUOTA = 10**15
QUOTA_UNIT = "quota"
PLACES = Decimal("1e-12")


class CostRejected(ValueError):
    """An upstream cost figure that cannot be believed; `reason` is a stable metric label."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class CostTerms:
    """A channel's unit for upstream costs and what one unit is worth in quota."""
    unit: str = QUOTA_UNIT
    quota_per_unit: Decimal = Decimal(1)
    per_second: Decimal | None = None  # Replicate: the cost of one second of predict_time

    @classmethod
    def of(cls, channel: Channel) -> CostTerms:
        unit = channel.upstream_cost_unit or {}
        rate = channel.upstream_cost_per_second
        return cls(unit=str(unit.get("name") or QUOTA_UNIT),
                   quota_per_unit=Decimal(str(unit.get("quota_per_unit") or 1)),
                   per_second=Decimal(str(rate)) if rate is not None else None)


def read_figure(value: Any) -> Decimal:
    """The upstream's figure as an exact decimal. Numbers and numeric strings (RunningHub writes
    "0.05") are accepted; anything else raises CostRejected."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise CostRejected("not_a_number", f"upstream cost is not a number: {type(value).__name__}")
    try:
        figure = Decimal(str(value).strip())
    except InvalidOperation:
        raise CostRejected("not_a_number", "upstream cost is not a number") from None
    if not figure.is_finite():
        raise CostRejected("not_a_number", "upstream cost is not finite")
    if figure < 0:
        raise CostRejected("negative", "upstream cost is negative")
    if figure > MAX_UPSTREAM_COST:
        raise CostRejected("too_large", f"upstream cost is above {MAX_UPSTREAM_COST} units")
    # Twelve places are finer than any upstream bills, and keep "1e-999999" from becoming a
    # million-digit string.
    return figure.quantize(PLACES, rounding=ROUND_HALF_EVEN).normalize()


def reading(value: Any, figure: Callable[[Any], Decimal | None] = read_figure) -> tuple[Decimal | None, str | None]:
    """What a provider puts on its observation: (the cost, None), (None, why it was rejected), or
    (None, None) when the upstream reported nothing."""
    if value is None:
        return None, None
    try:
        return figure(value), None
    except CostRejected as exc:
        return None, exc.reason


def cost_of_seconds(terms: CostTerms, seconds: Any) -> Decimal | None:
    """A time-priced upstream's cost (seconds x the channel's per-second rate); None when the
    channel has no rate, so nothing is recorded."""
    if terms.per_second is None:
        return None
    return read_figure(read_figure(seconds) * terms.per_second)


def recorded(amount: Decimal, terms: CostTerms) -> dict[str, Any]:
    """The task's `upstream_cost` for an accepted figure."""
    quota = int((amount * terms.quota_per_unit).to_integral_value(rounding=ROUND_HALF_EVEN))
    if quota > MAX_COST_QUOTA:
        raise CostRejected("too_large", f"upstream cost is above {MAX_COST_QUOTA} quota")
    return {"amount": format(amount, "f"), "unit": terms.unit, "quota": quota}
