"""Keeping score of a channel's upstream: failures in a row start a cool-down (`channels`)."""
from __future__ import annotations

from typing import Any

from services.gateway.container import Container
from shared.upstream.errors import UpstreamError


async def record_outcome(deps: Container, channel: dict[str, Any], error: UpstreamError | None) -> None:
    """A success resets the channel's count; a failure that blames the channel adds to it.
    Per-channel `failure_threshold` / `cooldown_s` > environment (CHANNEL_*) > default."""
    if error is None:
        await deps.channels.record_success(channel)
    elif error.blames_channel:
        threshold = channel.get("failure_threshold")
        await deps.channels.record_failure(
            channel, deps.settings.channel_failure_threshold if threshold is None else int(threshold),
            float(channel.get("cooldown_s") or deps.settings.channel_cooldown_s))
