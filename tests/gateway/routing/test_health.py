"""What each attempt's outcome counts against its channel."""
from __future__ import annotations

from services.gateway.routing.health import ChannelHealth
from shared.upstream.errors import UpstreamRefused, UpstreamTimeout
from tests.channel_records import channel_of
from tests.gateway.routing.fakes import SETTINGS, FakeScores


async def test_a_success_resets_the_count():
    scores = FakeScores()
    await ChannelHealth(scores, SETTINGS).record(channel_of("a"), None)
    assert scores.recorded == [("success", "a")]


async def test_a_failure_blaming_the_channel_counts_with_the_channels_own_terms_else_the_environments():
    scores = FakeScores()
    health = ChannelHealth(scores, SETTINGS)
    await health.record(channel_of("own", failure_threshold=0, cooldown_s=5), UpstreamTimeout("slow"))
    await health.record(channel_of("default"), UpstreamTimeout("slow"))
    assert scores.recorded == [("failure", "own", 0, 5.0), ("failure", "default", 5, 60.0)]


async def test_a_refusal_of_the_request_does_not_count():
    scores = FakeScores()
    await ChannelHealth(scores, SETTINGS).record(channel_of("a"), UpstreamRefused(1001, "bad prompt", 400, 400))
    assert scores.recorded == []
