"""The order in which a request tries the channels of its model."""
from __future__ import annotations

import random
from collections import Counter

from services.gateway.channel_selection import selection_order, upstream_model


def names(channels) -> list[str]:
    return [c["_id"] for c in channels]


def test_higher_priority_is_always_tried_first():
    channels = [{"_id": "low", "priority": -1}, {"_id": "default"}, {"_id": "high", "priority": 5, "weight": 1}]
    for _ in range(50):
        assert names(selection_order(channels)) == ["high", "default", "low"]


def test_weights_share_the_first_place_in_proportion():
    rng = random.Random(7)
    channels = [{"_id": "a", "weight": 3}, {"_id": "b", "weight": 1}]
    firsts = Counter(selection_order(channels, rng.random)[0]["_id"] for _ in range(4000))
    assert 0.70 < firsts["a"] / 4000 < 0.80, firsts  # 3 : 1


def test_a_zero_weight_channel_is_a_spare_tried_after_the_weighted_ones():
    channels = [{"_id": "spare", "weight": 0}, {"_id": "a", "weight": 1}, {"_id": "b", "weight": 5}]
    for _ in range(50):
        assert names(selection_order(channels))[-1] == "spare"


def test_model_mapping_names_the_model_upstream():
    channel = {"model_mapping": {"chat": "chat-v2-2026"}}
    assert upstream_model(channel, "chat") == "chat-v2-2026"
    assert upstream_model(channel, "other") == "other" and upstream_model({}, "chat") == "chat"
