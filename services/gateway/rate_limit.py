"""Requests per minute, counted in MongoDB so every gateway instance shares one count.

The algorithm is a fixed window that opens with the first request after the previous window
ended: one document per scope (`key:<id>` or `user:<id>`) holds the window's start and its
count, and a request is admitted by one conditional `$inc` (window still open and count under
the limit). Concurrent requests on any instance are serialised by that single-document update,
so a window never admits more than the limit. Precision: any 60 s span admits at most twice the
limit (the end of one window and the start of the next); window starts come from each
instance's clock, so clock skew between instances shifts a window by that skew.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

from pymongo.asynchronous.database import AsyncDatabase

WINDOW_S = 60.0


@dataclass(frozen=True)
class WindowState:
    limit: int
    used: int
    resets_in_s: float

    @property
    def left(self) -> int:
        return max(self.limit - self.used, 0)

    @property
    def retry_after_s(self) -> int:
        """Whole seconds, as `Retry-After` wants them; at least 1 so a client never spins."""
        return max(math.ceil(self.resets_in_s), 1)


class RateLimiter:
    def __init__(self, db: AsyncDatabase) -> None:
        self._windows = db["rate_windows"]

    async def admit(self, scope: str, limit: int) -> WindowState | None:
        """Counts one request; None when admitted, else the full window (for `Retry-After`)."""
        for _ in range(5):  # each lap either decides or saw another instance move the window
            now = time.time()
            if await self._windows.find_one_and_update(
                    {"_id": scope, "started": {"$gt": now - WINDOW_S}, "count": {"$lt": limit}},
                    {"$inc": {"count": 1}}, projection={"_id": 1}):
                return None
            if await self._windows.find_one_and_update(
                    {"_id": scope, "started": {"$lte": now - WINDOW_S}},
                    {"$set": {"started": now, "count": 1}}, projection={"_id": 1}):
                return None
            window = await self._windows.find_one({"_id": scope})
            if window is None:
                await self._windows.update_one({"_id": scope}, {"$setOnInsert": {"started": 0.0, "count": 0}},
                                               upsert=True)
            elif window["started"] > now - WINDOW_S and window["count"] >= limit:
                return _state(window, limit, now)
        return await self.peek(scope, limit)

    async def peek(self, scope: str, limit: int) -> WindowState:
        """The current window without counting a request."""
        window = await self._windows.find_one({"_id": scope})
        return _state(window, limit, time.time())


def _state(window: dict | None, limit: int, now: float) -> WindowState:
    if window is None or window["started"] <= now - WINDOW_S:
        return WindowState(limit, 0, WINDOW_S)
    # min(): another instance may have opened the window a moment after our `now` was read.
    return WindowState(limit, int(window["count"]), min(window["started"] + WINDOW_S - now, WINDOW_S))
