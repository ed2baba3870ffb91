"""In which order a request tries the channels serving its model: highest `priority` first;
among equals, a random order weighted by `weight` (default 1), so traffic spreads in proportion
to the weights while every channel of the group stays reachable by failover. Weight 0 makes a
channel a spare: tried only after every weighted one of its priority."""
from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any


def ready_in_order(channels: list[dict[str, Any]], now: str) -> list[dict[str, Any]]:
    """The channels not cooling down at `now` (a stored timestamp), in the order to try them."""
    return selection_order([c for c in channels if (c.get("cooldown_until") or "") <= now])


def selection_order(channels: list[dict[str, Any]],
                    draw: Callable[[], float] = random.random) -> list[dict[str, Any]]:
    def key(channel: dict[str, Any]) -> tuple[int, float]:
        weight = int(channel.get("weight", 1) if channel.get("weight") is not None else 1)
        # Efraimidis-Spirakis: sorting by u ** (1 / w) is a weighted random permutation.
        rank = draw() ** (1 / weight) if weight > 0 else -1.0
        return -int(channel.get("priority") or 0), -rank
    return sorted(channels, key=key)


def upstream_model(channel: dict[str, Any], model: str) -> str:
    """The name the channel's upstream knows the public `model` by (`model_mapping`)."""
    mapping = channel.get("model_mapping") or {}
    return mapping.get(model) or model
