"""How many event streams each caller holds open on this gateway (EVENT_STREAMS_PER_KEY)."""
from __future__ import annotations

from collections import Counter

from services.gateway.errors import ApiError

RETRY_AFTER_S = 5


class StreamSlots:
    """Streams open on this gateway, by the caller's key."""

    def __init__(self, per_key: int) -> None:
        self._per_key = per_key
        self._open: Counter[str] = Counter()

    def take(self, owner: str) -> None:
        if self._open[owner] >= self._per_key:
            raise ApiError(f"at most {self._per_key} event streams may be open per API key",
                           code="too_many_streams", status=429, headers={"Retry-After": str(RETRY_AFTER_S)})
        self._open[owner] += 1

    def give_back(self, owner: str) -> None:
        self._open[owner] -= 1
        if self._open[owner] <= 0:
            del self._open[owner]
