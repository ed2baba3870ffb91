"""What a request holds and what it finally costs, in integer quota units.

Modes: `free` (nothing), `per_call` (cost = price), `per_usage` (cost = ceil(units x price / 1000):
`price` is quota per 1,000 usage units; units are `total_tokens`, with `input_tokens` /
`output_tokens` preferred when the upstream reports them). The billing block is snapshotted on
the task at submit time, so a later price change never reprices work already accepted.
"""
from __future__ import annotations

from typing import Any


def usage_units(usage: dict[str, Any] | None) -> int:
    if not usage:
        return 0
    input_tokens = int(usage.get("input_tokens") or 0)
    output_tokens = int(usage.get("output_tokens") or 0)
    if input_tokens > 0 or output_tokens > 0:
        return input_tokens + output_tokens
    return int(usage.get("total_tokens") or 0)


def per_usage_cost(units: int, price: int) -> int:
    return -(-units * price // 1000)  # ceiling division, integers only


def hold_amount(billing: dict[str, Any], precharge_usage: dict[str, Any] | None = None) -> int:
    mode, price = billing.get("mode", "free"), int(billing.get("price", 0))
    if mode == "free":
        return 0
    if precharge_usage is not None:
        return final_cost(billing, precharge_usage)
    if billing.get("precharge") is not None:
        return int(billing["precharge"])
    return price if mode == "per_call" else 0


def final_cost(billing: dict[str, Any], usage: dict[str, Any] | None) -> int:
    mode, price = billing.get("mode", "free"), int(billing.get("price", 0))
    if mode == "per_call":
        return price
    if mode == "per_usage":
        return per_usage_cost(usage_units(usage), price)
    return 0
