"""When the poller sweeps: never closer than `POLL_TICK_S` apart, as soon after that as a live
task is due, and while nothing is due sooner at most `POLL_IDLE_S` apart. A sweep reads every
live task's schedule (`TaskStore.claim_due`), so it knows when the next one is due, except for
tasks that appear after it: an async submit announces its task on `task.submitted`, which wakes
the loop; a sync or worker task's deadline (its `next_poll_at`) is a backstop its own gateway
enforces first, so the poller may reach it up to `POLL_IDLE_S` late. An idle poller sends a
sweep's finds once per `POLL_IDLE_S` instead of once per tick."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from shared.clock import seconds_since

log = logging.getLogger(__name__)


class SweepLoop:
    def __init__(self, sweep: Callable[[], Awaitable[str | None]], tick_s: float, idle_s: float) -> None:
        """`sweep`: one sweep, answering when a live task is due next (an ISO stamp; None: none is)."""
        self._sweep, self._tick_s, self._idle_s = sweep, tick_s, max(idle_s, tick_s)
        self._woken = asyncio.Event()

    def wake(self) -> None:
        """Work may have appeared: sweep once the tick since the last sweep has passed."""
        self._woken.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._woken.clear()  # a wake during the sweep asks for the next one
            started = loop.time()
            try:
                next_due_at = await self._sweep()
            except Exception:
                log.exception("poller sweep failed; retrying next tick")
                next_due_at = None
                wait = self._tick_s
            else:
                wait = self.wait_s(next_due_at)
            spent = loop.time() - started
            try:
                await asyncio.wait_for(self._woken.wait(), max(wait - spent, 0.0))
            except TimeoutError:
                continue
            await asyncio.sleep(max(self._tick_s - (loop.time() - started), 0.0))  # woken: keep the tick

    def wait_s(self, next_due_at: str | None) -> float:
        """From one sweep's start to the next: the time until `next_due_at`, within [tick, idle]."""
        if next_due_at is None:
            return self._idle_s
        return min(max(-seconds_since(next_due_at), self._tick_s), self._idle_s)
