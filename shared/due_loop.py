"""A loop over due work (the poller's sweep, settlement's webhook sender): each run claims what is
due and reads the schedules of all the work waiting, so it knows when the next item is due. The
next run comes then, never sooner than `tick_s` after the last one started, and never later than
`idle_s`; `wake()` (work recorded since, by this process or announced by another) brings it
forward to the tick. Idle, a loop sends its claim's queries once per `idle_s` instead of once per
tick; what appears without a wake waits at most `idle_s`.

The poller: `POLL_TICK_S` / `POLL_IDLE_S`; an async submit wakes it over `task.submitted`, and a
sync or worker task's deadline (its `next_poll_at`), a backstop its own gateway enforces first, is
reached at most `POLL_IDLE_S` late. Settlement's webhook sender: `WEBHOOK_SEND_INTERVAL_S` /
`WEBHOOK_IDLE_S`; each batch of events settlement handles wakes it, and a `start` delivery the
gateway records waits at most `WEBHOOK_IDLE_S`."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from shared.clock import seconds_since, stamp

log = logging.getLogger(__name__)


Leased = TypeVar("Leased")


@dataclass(frozen=True)
class DueClaim(Generic[Leased]):
    """What a claim leased, and the earliest due time (an ISO stamp) of the waiting work it read,
    the leased included; None: nothing waits."""
    leased: list[Leased]  # documents or records, as the claiming store reads them
    earliest_due: str | None

    def next_due_at(self) -> str | None:
        """When the next run is due: at once after a run that leased (the leased items got new
        schedules the claim did not read), else the earliest it read."""
        return stamp() if self.leased else self.earliest_due


class DueLoop:
    def __init__(self, run: Callable[[], Awaitable[str | None]], tick_s: float, idle_s: float, name: str) -> None:
        """`run`: one run, answering when work is due next (an ISO stamp; None: none waits)."""
        self._run, self._tick_s, self._idle_s, self._name = run, tick_s, max(idle_s, tick_s), name
        self._woken = asyncio.Event()

    def wake(self) -> None:
        """Work may have appeared: run once the tick since the last run has passed."""
        self._woken.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._woken.clear()  # a wake during the run asks for the next one
            started = loop.time()
            try:
                wait = self.wait_s(await self._run())
            except Exception:
                log.exception("%s failed; retrying next tick", self._name)
                wait = self._tick_s
            spent = loop.time() - started
            try:
                await asyncio.wait_for(self._woken.wait(), max(wait - spent, 0.0))
            except TimeoutError:
                continue
            await asyncio.sleep(max(self._tick_s - (loop.time() - started), 0.0))  # woken: keep the tick

    def wait_s(self, next_due_at: str | None) -> float:
        """From one run's start to the next: the time until `next_due_at`, within [tick, idle]."""
        if next_due_at is None:
            return self._idle_s
        return min(max(-seconds_since(next_due_at), self._tick_s), self._idle_s)
