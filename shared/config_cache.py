"""Configuration documents (API keys, users, groups, channels) served from memory for at most
`CONFIG_CACHE_TTL_S`, so a request does not read four documents from MongoDB.

The bound is the whole rule: a change made through any gateway (a disabled key, a new limit, a
channel's price or cool-down) applies on every other instance within the TTL, and at once on the
instance that made it (its writes clear its cache). Concurrent misses of one key share one read,
so a burst of requests with a new key reads it once. A TTL of 0 turns the cache off.

What is cached is shared by every request of the process: callers must not mutate it.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

MAX_ENTRIES = 20_000  # past this, expired entries go first, then everything (keys are per caller)


class ConfigCache:
    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl_s, self._clock = ttl_s, clock
        self._entries: dict[Hashable, tuple[float, Any]] = {}
        self._loading: dict[Hashable, asyncio.Future] = {}
        self._generation = 0

    async def get(self, key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
        if self._ttl_s <= 0:
            return await load()
        entry = self._entries.get(key)
        if entry is not None and self._clock() - entry[0] < self._ttl_s:
            return entry[1]
        if key in self._loading:
            return await self._wait_for(self._loading[key], load)
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        generation, started = self._generation, self._clock()
        try:
            value = await load()
        except asyncio.CancelledError:
            future.cancel()  # whoever waited on this read makes its own
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # read here, so a miss nobody else waited on logs no warning
            raise
        finally:
            if self._loading.get(key) is future:
                del self._loading[key]
        if generation == self._generation:  # a write cleared the cache while we read: keep nothing
            self._store(key, started, value)
        future.set_result(value)
        return value

    @staticmethod
    async def _wait_for(reading: asyncio.Future, load: Callable[[], Awaitable[T]]) -> T:
        try:
            return await asyncio.shield(reading)
        except asyncio.CancelledError:
            if not reading.cancelled():
                raise  # we were cancelled ourselves
            return await load()

    def clear(self) -> None:
        """After a write through this process: every later read goes to MongoDB."""
        self._entries.clear()
        self._loading.clear()
        self._generation += 1

    def _store(self, key: Hashable, fetched_at: float, value: Any) -> None:
        if len(self._entries) >= MAX_ENTRIES:
            now = self._clock()
            self._entries = {k: e for k, e in self._entries.items() if now - e[0] < self._ttl_s}
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
        self._entries[key] = (fetched_at, value)
