"""The configuration cache's rules, on a fake clock: bounded staleness, one read per miss, and a
write through this process seen at once."""
from __future__ import annotations

import asyncio

from shared.config_cache import ConfigCache


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Store:
    def __init__(self) -> None:
        self.value, self.reads = "v1", 0

    async def read(self) -> str:
        self.reads += 1
        value = self.value  # what the store held when the read reached it
        await asyncio.sleep(0)
        return value


async def test_a_value_is_served_from_memory_until_the_ttl_has_passed():
    clock, store = Clock(), Store()
    cache = ConfigCache(1.0, clock)
    assert await cache.get("k", store.read) == "v1"
    store.value = "v2"  # changed by another instance
    clock.now = 0.99
    assert await cache.get("k", store.read) == "v1"
    clock.now = 1.0
    assert await cache.get("k", store.read) == "v2"
    assert store.reads == 2


async def test_concurrent_misses_share_one_read():
    store = Store()
    cache = ConfigCache(1.0, Clock())
    assert await asyncio.gather(*(cache.get("k", store.read) for _ in range(50))) == ["v1"] * 50
    assert store.reads == 1


async def test_clear_makes_the_next_read_go_to_the_store_and_drops_a_read_in_progress():
    store = Store()
    cache = ConfigCache(1.0, Clock())
    reading = asyncio.create_task(cache.get("k", store.read))
    await asyncio.sleep(0)
    store.value = "v2"
    cache.clear()  # a write through this process, while the read that started before it runs
    assert await reading == "v1"
    assert await cache.get("k", store.read) == "v2"  # the read from before the write was not kept


async def test_nothing_found_is_cached_too_and_a_failed_read_is_not():
    clock, reads = Clock(), []
    cache = ConfigCache(1.0, clock)

    async def missing():
        reads.append(1)
        return None
    assert await cache.get("none", missing) is None
    assert await cache.get("none", missing) is None
    assert len(reads) == 1

    async def failing():
        raise ConnectionError("mongo away")
    for _ in range(2):
        try:
            await cache.get("boom", failing)
        except ConnectionError:
            pass
    assert await cache.get("boom", missing) is None


async def test_a_ttl_of_zero_reads_every_time():
    store = Store()
    cache = ConfigCache(0, Clock())
    for _ in range(3):
        await cache.get("k", store.read)
    assert store.reads == 3
