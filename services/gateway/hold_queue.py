"""A bound on the holds one gateway has waiting on billing at once, with a bounded wait for a turn.

Without it a burst of submits puts every hold request on billing's topic at once; each then
waits behind the whole burst, and those past `HOLD_REPLY_TIMEOUT_S` answer 503 although billing
is working through them. Here, holds beyond `HOLD_MAX_IN_FLIGHT` wait for a turn (in arrival
order) up to `HOLD_QUEUE_WAIT_S`, so a request that is sent has a short queue ahead of it and its
reply timeout measures billing, not the burst. A hold that gets no turn was never requested: the
caller's 503 `billing_unavailable` (with `Retry-After`) costs nothing to retry.
"""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from services.gateway import metrics
from services.gateway.errors import BillingUnavailable


class HoldQueue:
    def __init__(self, max_in_flight: int, max_wait_s: float) -> None:
        self._turns = asyncio.Semaphore(max_in_flight)
        self._max_wait_s = max_wait_s

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        metrics.HOLDS_WAITING.inc()
        try:
            await asyncio.wait_for(self._turns.acquire(), self._max_wait_s)
        except asyncio.TimeoutError:
            metrics.BILLING_TIMEOUTS.inc()
            raise BillingUnavailable("billing is busy; retry with the same request") from None
        finally:
            metrics.HOLDS_WAITING.dec()
        try:
            yield
        finally:
            self._turns.release()
