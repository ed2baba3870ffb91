"""Work that must outlive the request that started it (a sync call whose client hung up, the
reader of a streamed answer): it runs in tasks of its own, and shutdown waits for them."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class BackgroundWork:
    def __init__(self) -> None:
        self._running: set[asyncio.Task] = set()

    def start(self, work: Coroutine[Any, Any, T], name: str) -> asyncio.Task[T]:
        # A plain asyncio task is outside the request's cancel scope, and the set keeps a
        # reference so it is never garbage-collected half-way.
        task = asyncio.create_task(work, name=name)
        self._running.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task) -> None:
        self._running.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # Retrieved here so an exception nobody awaited (its request was gone) is still seen.
            log.debug("background work %s ended with %r", task.get_name(), task.exception())

    async def drain(self, timeout_s: float) -> None:
        """At shutdown: lets running work finish (and so finish its tasks), up to `timeout_s`."""
        if self._running:
            _, late = await asyncio.wait(set(self._running), timeout=timeout_s)
            for task in late:
                log.warning("background work %s still running at shutdown; the poller will fail "
                            "its task once it is due", task.get_name())
                task.cancel()
