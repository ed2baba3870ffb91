"""Wakes this process's dispatchers when a task is queued on another gateway instance, instead of
every instance issuing an empty claim per group every 0.1 s.

It follows a MongoDB change stream of `dispatch_queue` inserts and tells the hub which groups got
work. Each read of the stream waits at most `wait_s` for an event and the reads are never closer
than `wait_s` apart: on a real replica set a read blocks until an insert arrives (the wake-up is
immediate, and an idle process sends about one `getMore` per `wait_s`); the nx-27017 stand-in
answers a `getMore` at once instead of waiting (measured: ~120 getMores/s when left to PyMongo's
own loop), so there the pacing makes the stream a once-per-`wait_s` look at new inserts.
The stream is read only while this process has an idle worker: otherwise nobody here could take
the work, and a worker turning idle claims for itself.

A stream that breaks (or a server without change streams: a standalone MongoDB) is reopened with
a growing backoff; meanwhile, and for any event missed, the hub's slow re-check of the queue
(`dispatch_recheck_s`) still finds the work.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from pymongo.asynchronous.collection import AsyncCollection

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 30.0


class QueueWatch:
    def __init__(self, entries: AsyncCollection, wait_s: float, anyone_idle: Callable[[], bool],
                 wake: Callable[[str], None]) -> None:
        self._entries, self._wait_s = entries, wait_s
        self._anyone_idle, self._wake = anyone_idle, wake

    async def run(self) -> None:
        backoff = self._wait_s
        while True:
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("dispatch queue change stream broke (%s); reopening in %.1f s", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
            else:  # the server ended the stream (invalidated): open a new one, unhurried
                backoff = self._wait_s
                await asyncio.sleep(self._wait_s)

    async def _follow(self) -> None:
        pipeline = [{"$match": {"operationType": "insert"}}]
        async with await self._entries.watch(pipeline, max_await_time_ms=int(self._wait_s * 1000)) as stream:
            while stream.alive:
                if not self._anyone_idle():
                    await asyncio.sleep(self._wait_s)
                    continue
                started = time.monotonic()
                change = await stream.try_next()
                while change is not None:  # wakes at once; then reads on until the stream is quiet
                    self._wake(change["fullDocument"]["group"])
                    change = await stream.try_next()
                await asyncio.sleep(max(0.0, self._wait_s - (time.monotonic() - started)))
