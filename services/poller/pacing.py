"""A channel's request rate (`max_requests_per_s`): the poller's status queries to one upstream
are spaced evenly, one every 1/rate seconds, however many batches a sweep runs at once. Each
caller reserves the next free slot before it waits, so concurrent callers never share a slot.
The limit is per poller process: with several replicas, each keeps to it on its own."""
from __future__ import annotations

import asyncio
import math
from collections.abc import Callable


class RequestPacer:
    def __init__(self, clock: Callable[[], float] | None = None) -> None:
        self._clock = clock or asyncio.get_running_loop().time
        self._next_slot = 0.0

    async def wait_turn(self, per_second: float) -> None:
        now = self._clock()
        slot = max(now, self._next_slot)
        self._next_slot = slot + 1 / per_second
        if slot > now:
            await asyncio.sleep(slot - now)


def requests_per_sweep(per_second: float, lease_s: float) -> int:
    """Most paced requests one sweep sends a channel: they take at most half the lease, so the
    sweep's tasks are still its own when their answers arrive."""
    return max(1, math.floor(per_second * lease_s / 2))
