"""In-memory stand-ins for what routing writes to: the channel repository's health counts."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from shared.channels import Channel

SETTINGS = SimpleNamespace(channel_failure_threshold=5, channel_cooldown_s=60.0)


class FakeScores:
    """Records each count as `(outcome, channel id, threshold, cooldown_s)`."""

    def __init__(self) -> None:
        self.recorded: list[tuple[Any, ...]] = []

    async def record_success(self, channel: Channel) -> None:
        self.recorded.append(("success", channel.id))

    async def record_failure(self, channel: Channel, threshold: int, cooldown_s: float) -> bool:
        self.recorded.append(("failure", channel.id, threshold, cooldown_s))
        return False
