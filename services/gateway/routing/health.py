"""Keeping score of a channel's upstream: every attempt's outcome is counted against its channel,
and `failure_threshold` failures in a row start a cool-down of `cooldown_s`, during which
`selection` leaves the channel out. The counts live in the channel document
(`ChannelRepository.record_failure` / `record_success`), so every gateway process sees them."""
from __future__ import annotations

from typing import Protocol

from services.gateway.settings import GatewaySettings
from shared.channels import Channel
from shared.upstream.errors import UpstreamError


class ChannelScores(Protocol):
    """Where the counts are kept: `ChannelRepository`."""

    async def record_success(self, channel: Channel) -> None: ...

    async def record_failure(self, channel: Channel, threshold: int, cooldown_s: float) -> bool: ...


class ChannelHealth:
    def __init__(self, scores: ChannelScores, settings: GatewaySettings) -> None:
        self._scores = scores
        self._settings = settings

    async def record(self, channel: Channel, error: UpstreamError | None) -> None:
        """A success resets the channel's count; a failure that blames the channel (not one about
        the request: `UpstreamError.blames_channel`) adds to it. Per-channel `failure_threshold` /
        `cooldown_s` > environment (CHANNEL_*) > default."""
        if error is None:
            await self._scores.record_success(channel)
        elif error.blames_channel:
            await self._scores.record_failure(channel, *channel.cooldown_terms(
                self._settings.channel_failure_threshold, self._settings.channel_cooldown_s))
