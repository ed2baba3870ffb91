"""The requests-per-minute window against a real MongoDB-wire server, many callers at once."""
from __future__ import annotations

import asyncio

from services.gateway.rate_limit import WINDOW_S, RateLimiter, WindowState


async def test_a_window_admits_exactly_its_limit_under_concurrency(db):
    limiter, other = RateLimiter(db), RateLimiter(db)  # two instances sharing the database
    answers = await asyncio.gather(*((limiter if i % 2 else other).admit("key:a", 60) for i in range(200)))
    admitted = [a for a in answers if a is None]
    assert len(admitted) == 60
    refusals = [a for a in answers if a is not None]
    assert all(r.left == 0 and 1 <= r.retry_after_s <= WINDOW_S for r in refusals)
    assert (await limiter.peek("key:a", 60)).left == 0
    assert (await limiter.peek("key:b", 60)).left == 60  # scopes count apart


async def test_an_ended_window_opens_a_new_one(db):
    limiter = RateLimiter(db)
    assert await limiter.admit("key:a", 1) is None
    assert await limiter.admit("key:a", 1) is not None
    await db["rate_windows"].update_one({"_id": "key:a"}, {"$inc": {"started": -WINDOW_S}})  # a minute passes
    assert await limiter.admit("key:a", 1) is None
    assert (await limiter.peek("key:a", 1)).used == 1


async def test_a_lowered_limit_applies_to_the_open_window(db):
    limiter = RateLimiter(db)
    for _ in range(3):
        assert await limiter.admit("key:a", 10) is None
    assert await limiter.admit("key:a", 3) is not None


def test_retry_after_is_whole_seconds_and_never_zero():
    assert WindowState(limit=1, used=1, resets_in_s=0.2).retry_after_s == 1
    assert WindowState(limit=1, used=1, resets_in_s=41.01).retry_after_s == 42
    assert WindowState(limit=5, used=7, resets_in_s=3).left == 0
