"""In which order a request tries the channels serving its model: highest `priority` first;
among equals, a random order weighted by `weight` (default 1), so traffic spreads in proportion
to the weights while every channel of the group stays reachable by failover. Weight 0 makes a
channel a spare: tried only after every weighted one of its priority. A channel cooling down
(`health`) is left out until its `cooldown_until` has passed."""
from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any


def ready_in_order(channels: list[dict[str, Any]], now: str) -> list[dict[str, Any]]:
    """The channels not cooling down at `now` (a stored timestamp), in the order to try them;
    empty when every one is cooling down (each path refuses then with `channels_cooling_down`)."""
    return selection_order([c for c in channels if (c.get("cooldown_until") or "") <= now])


def selection_order(channels: list[dict[str, Any]],
                    draw: Callable[[], float] = random.random) -> list[dict[str, Any]]:
    def key(channel: dict[str, Any]) -> tuple[int, float]:
        weight = int(channel.get("weight", 1) if channel.get("weight") is not None else 1)
        # Efraimidis-Spirakis: sorting by u ** (1 / w) is a weighted random permutation.
        rank = draw() ** (1 / weight) if weight > 0 else -1.0
        return -int(channel.get("priority") or 0), -rank
    return sorted(channels, key=key)


def worker_channel(channels: list[dict[str, Any]], model: str, now: str) -> dict[str, Any] | None:
    """The worker channel of a group a task is priced and queued by: a channel cooling down is
    skipped while another of the group is ready; among the ready ones, one listing `model` wins
    over the others, each side in selection order. None when every one is cooling down.
    (The keys of `selection_order` are drawn independently, so the first listing channel of the
    whole order is a fair draw among the listing ones.)"""
    ready = ready_in_order(channels, now)
    return next((c for c in ready if model in c.get("models", ())), ready[0] if ready else None)


def upstream_model(channel: dict[str, Any], model: str) -> str:
    """The name the channel's upstream knows the public `model` by (`model_mapping`)."""
    mapping = channel.get("model_mapping") or {}
    return mapping.get(model) or model
