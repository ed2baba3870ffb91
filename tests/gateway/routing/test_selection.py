"""The order in which a request tries the channels of its model, and the worker channel a task goes to."""
from __future__ import annotations

import random
from collections import Counter

from services.gateway.routing.selection import ready_in_order, selection_order, upstream_model, worker_channel
from tests.channel_records import channel_of

NOW = "2026-12-03T06:00:00.000Z"
COOLING = {"cooldown_until": "2026-12-03T06:01:00.000Z"}
RESTED = {"cooldown_until": "2026-12-03T05:59:00.000Z"}


def names(channels) -> list[str]:
    return [c.id for c in channels]


def test_higher_priority_is_always_tried_first():
    channels = [channel_of("low", priority=-1), channel_of("default"), channel_of("high", priority=5, weight=1)]
    for _ in range(50):
        assert names(selection_order(channels)) == ["high", "default", "low"]


def test_weights_share_the_first_place_in_proportion():
    rng = random.Random(7)
    channels = [channel_of("a", weight=3), channel_of("b", weight=1)]
    firsts = Counter(selection_order(channels, rng.random)[0].id for _ in range(4000))
    assert 0.70 < firsts["a"] / 4000 < 0.80, firsts  # 3 : 1


def test_a_zero_weight_channel_is_a_spare_tried_after_the_weighted_ones():
    channels = [channel_of("spare", weight=0), channel_of("a", weight=1), channel_of("b", weight=5)]
    for _ in range(50):
        assert names(selection_order(channels))[-1] == "spare"


def test_a_channel_cooling_down_is_left_out_until_its_cool_down_has_passed():
    channels = [channel_of("cooling", priority=9, **COOLING), channel_of("rested", **RESTED), channel_of("never")]
    assert sorted(names(ready_in_order(channels, NOW))) == ["never", "rested"]
    assert ready_in_order([channel_of("cooling", **COOLING)], NOW) == []


def test_model_mapping_names_the_model_upstream():
    channel = channel_of(model_mapping={"chat": "chat-v2-2026"})
    assert upstream_model(channel, "chat") == "chat-v2-2026"
    assert upstream_model(channel, "other") == "other" and upstream_model(channel_of(), "chat") == "chat"


def test_a_worker_channel_listing_the_model_wins_over_the_groups_others():
    channels = [channel_of("other", priority=5), channel_of("lists", models=["m"])]
    for _ in range(20):
        assert worker_channel(channels, "m", NOW).id == "lists"
    assert worker_channel(channels, "unlisted", NOW).id == "other"  # no one lists it: selection order


def test_a_worker_channel_cooling_down_is_skipped_while_another_serves_the_group():
    channels = [channel_of("cooling", models=["m"], priority=5, **COOLING), channel_of("ready")]
    for _ in range(20):
        assert worker_channel(channels, "m", NOW).id == "ready"
    assert worker_channel([channel_of("rested", **RESTED)], "m", NOW).id == "rested"


def test_no_worker_channel_when_every_one_of_the_group_is_cooling_down():
    assert worker_channel([channel_of("a", **COOLING), channel_of("b", models=["m"], **COOLING)], "m", NOW) is None
