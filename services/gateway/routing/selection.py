"""In which order a request tries the channels serving its model: highest `priority` first;
among equals, a random order weighted by `weight` (default 1), so traffic spreads in proportion
to the weights while every channel of the group stays reachable by failover. Weight 0 makes a
channel a spare: tried only after every weighted one of its priority. A channel cooling down
(`health`) is left out until its `cooldown_until` has passed."""
from __future__ import annotations

import random
from collections.abc import Callable

from shared.channels import Channel


def ready_in_order(channels: list[Channel], now: str) -> list[Channel]:
    """The channels not cooling down at `now` (a stored timestamp), in the order to try them;
    empty when every one is cooling down (each path refuses then with `channels_cooling_down`)."""
    return selection_order([c for c in channels if (c.cooldown_until or "") <= now])


def selection_order(channels: list[Channel], draw: Callable[[], float] = random.random) -> list[Channel]:
    def key(channel: Channel) -> tuple[int, float]:
        weight = channel.effective_weight
        # Efraimidis-Spirakis: sorting by u ** (1 / w) is a weighted random permutation.
        rank = draw() ** (1 / weight) if weight > 0 else -1.0
        return -channel.effective_priority, -rank
    return sorted(channels, key=key)


def worker_channel(channels: list[Channel], model: str, now: str) -> Channel | None:
    """The worker channel of a group a task is priced and queued by: a channel cooling down is
    skipped while another of the group is ready; among the ready ones, one listing `model` wins
    over the others, each side in selection order. None when every one is cooling down.
    (The keys of `selection_order` are drawn independently, so the first listing channel of the
    whole order is a fair draw among the listing ones.)"""
    ready = ready_in_order(channels, now)
    return next((c for c in ready if model in c.models), ready[0] if ready else None)


def upstream_model(channel: Channel, model: str) -> str:
    """The name the channel's upstream knows the public `model` by (`model_mapping`)."""
    mapping = channel.model_mapping or {}
    return mapping.get(model) or model
