"""What a request holds and what it finally costs, in integer quota units.

Modes: `free` (nothing), `per_call` (cost = price), `per_usage` (cost = ceil(units x price / 1000):
`price` is quota per 1,000 usage units). Units are `total_tokens`, with `input_tokens` /
`output_tokens` preferred when the upstream reports them, or the usage field the channel names
in `usage_field` (e.g. `seconds`; fractional amounts are counted exactly, then the cost rounds
up). A user group's `price_ratio` (a decimal string such as "0.8") scales holds and costs; the
product is exact and rounds up once. The billing block, ratio included, is snapshotted on the task
at submit time, so a later price or group change never reprices work already accepted.
"""
from __future__ import annotations

from fractions import Fraction
from typing import Any

Units = int | Fraction


def usage_units(usage: dict[str, Any] | None, field: str | None = None) -> Units | None:
    """The units a usage report counts; None when it does not report them."""
    if not usage:
        return None
    if field:
        return _quantity(usage.get(field))
    counts = {name: _quantity(usage.get(name) or 0) for name in ("input_tokens", "output_tokens", "total_tokens")}
    if None in counts.values():
        return None  # a token count the upstream filled with something else: the usage is unknown
    split = counts["input_tokens"] + counts["output_tokens"]
    return split if split > 0 else counts["total_tokens"]


def _quantity(value: Any) -> Units | None:
    """An upstream's figure as an exact amount; None when it is no measurement: not a number (a
    string, a boolean), NaN, negative or infinite (JSON's 1e400 parses to inf)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value or value < 0 \
            or value == float("inf"):
        return None
    return value if isinstance(value, int) else Fraction(str(value))  # str(): the decimal as written


def price_ratio(billing: dict[str, Any]) -> Fraction:
    return Fraction(str(billing.get("price_ratio", 1)))


def _ceil(amount: Units | Fraction) -> int:
    return int(-(-amount // 1))  # exact for integers and fractions


def per_usage_cost(units: Units, price: int, ratio: Fraction = Fraction(1)) -> int:
    return _ceil(units * price * ratio / 1000)


def hold_amount(billing: dict[str, Any], precharge_usage: dict[str, Any] | None = None) -> int:
    mode, price = billing.get("mode", "free"), int(billing.get("price", 0))
    if mode == "free":
        return 0
    if precharge_usage is not None:
        return final_cost(billing, precharge_usage)
    if billing.get("precharge") is not None:
        return _ceil(int(billing["precharge"]) * price_ratio(billing))
    return _ceil(price * price_ratio(billing)) if mode == "per_call" else 0


def final_cost(billing: dict[str, Any], usage: dict[str, Any] | None, held: int = 0) -> int:
    """`held` is charged for per_usage work whose usage is unknown: the hold was the estimate
    (already at the group's ratio)."""
    mode, price = billing.get("mode", "free"), int(billing.get("price", 0))
    if mode == "per_call":
        return _ceil(price * price_ratio(billing))
    if mode == "per_usage":
        units = usage_units(usage, billing.get("usage_field"))
        return held if units is None else per_usage_cost(units, price, price_ratio(billing))
    return 0
