"""When a failed attempt moves the work to the next channel: each path's policy for each kind of
failure, and the loop every path runs."""
from __future__ import annotations

import pytest

from services.gateway.routing.failover import async_submit_moves_on, sync_call_moves_on, try_channels
from services.gateway.routing.health import ChannelHealth
from shared.upstream.errors import (UpstreamHttpError, UpstreamMalformed, UpstreamNotConnected, UpstreamRefused,
                                    UpstreamThrottled, UpstreamTimeout, UpstreamUnreachable)
from tests.channel_records import channel_of
from tests.gateway.routing.fakes import SETTINGS, FakeScores

# Each kind of failure, with whether the async submit and the sync call move on after it.
FAILURES = {
    "not connected": (UpstreamNotConnected("refused"), True, True),
    "unreachable after connecting": (UpstreamUnreachable("reset"), False, True),
    "timeout": (UpstreamTimeout("slow"), False, True),
    "malformed answer": (UpstreamMalformed("not json"), False, True),
    "throttled": (UpstreamThrottled("busy", retry_after=3), False, True),
    "http error without envelope": (UpstreamHttpError(502), False, True),
    "refusal under HTTP 200": (UpstreamRefused(1001, "bad prompt"), False, False),
    "refusal under HTTP 400": (UpstreamRefused(1001, "bad prompt", 400, 400), False, False),
    "refusal under HTTP 429": (UpstreamRefused(1005, "slow down", 429, 429), False, True),
    "refusal under HTTP 503": (UpstreamRefused(1006, "overloaded", 502, 503), False, True),
}


@pytest.mark.parametrize("kind", FAILURES)
def test_an_async_submit_moves_on_only_when_no_connection_was_made(kind):
    error, async_moves, _ = FAILURES[kind]
    assert async_submit_moves_on(error) is async_moves


@pytest.mark.parametrize("kind", FAILURES)
def test_a_sync_call_moves_on_when_the_channel_is_to_blame(kind):
    error, _, sync_moves = FAILURES[kind]
    assert sync_call_moves_on(error) is sync_moves


CHANNELS = [channel_of("a"), channel_of("b"), channel_of("c")]


def attempts(outcomes: dict[str, Exception | str]):
    """An attempt answering each channel's outcome (raised when an exception), and the ids tried."""
    tried: list[str] = []

    async def attempt(channel):
        tried.append(channel.id)
        outcome = outcomes[channel.id]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome
    return attempt, tried


async def test_the_first_channel_that_succeeds_serves_and_the_rest_are_not_tried():
    scores = FakeScores()
    attempt, tried = attempts({"a": "answer a", "b": "answer b", "c": "answer c"})
    served = await try_channels(CHANNELS, attempt, sync_call_moves_on, ChannelHealth(scores, SETTINGS))
    assert (served.result, served.channel.id, served.moved) == ("answer a", "a", False)
    assert tried == ["a"] and scores.recorded == [("success", "a")]


async def test_channels_are_tried_in_order_while_the_policy_moves_on_each_outcome_scored():
    scores = FakeScores()
    attempt, tried = attempts({"a": UpstreamNotConnected("down"), "b": UpstreamNotConnected("down"), "c": "ok"})
    served = await try_channels(CHANNELS, attempt, async_submit_moves_on, ChannelHealth(scores, SETTINGS))
    assert (served.result, served.channel.id, served.moved) == ("ok", "c", True)
    assert tried == ["a", "b", "c"]
    assert scores.recorded == [("failure", "a", 5, 60.0), ("failure", "b", 5, 60.0), ("success", "c")]


async def test_a_failure_the_policy_keeps_is_raised_and_no_later_channel_is_tried():
    scores = FakeScores()
    timeout = UpstreamTimeout("slow")
    attempt, tried = attempts({"a": timeout, "b": "ok", "c": "ok"})
    with pytest.raises(UpstreamTimeout) as raised:
        await try_channels(CHANNELS, attempt, async_submit_moves_on, ChannelHealth(scores, SETTINGS))
    assert raised.value is timeout and tried == ["a"] and scores.recorded == [("failure", "a", 5, 60.0)]


async def test_a_refusal_is_the_answer_on_the_sync_path_and_leaves_the_score_alone():
    scores = FakeScores()
    refusal = UpstreamRefused(1001, "bad prompt", 400, 400)
    attempt, tried = attempts({"a": refusal, "b": "ok", "c": "ok"})
    with pytest.raises(UpstreamRefused):
        await try_channels(CHANNELS, attempt, sync_call_moves_on, ChannelHealth(scores, SETTINGS))
    assert tried == ["a"] and scores.recorded == []


async def test_the_last_channels_failure_is_raised_when_every_one_failed():
    scores = FakeScores()
    last = UpstreamTimeout("slow c")
    attempt, tried = attempts({"a": UpstreamTimeout("slow a"), "b": UpstreamHttpError(503), "c": last})
    with pytest.raises(UpstreamTimeout) as raised:
        await try_channels(CHANNELS, attempt, sync_call_moves_on, ChannelHealth(scores, SETTINGS))
    assert raised.value is last and tried == ["a", "b", "c"] and len(scores.recorded) == 3


async def test_a_failure_not_about_the_channel_stops_at_once_without_a_score():
    scores = FakeScores()
    attempt, tried = attempts({"a": ValueError("bad body"), "b": "ok", "c": "ok"})
    with pytest.raises(ValueError):
        await try_channels(CHANNELS, attempt, sync_call_moves_on, ChannelHealth(scores, SETTINGS))
    assert tried == ["a"] and scores.recorded == []
