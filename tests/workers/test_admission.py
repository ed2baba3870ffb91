"""Dispatch admission's caches (services/gateway/workers/admission.py) against fakes: which
answers are kept, and when the queue is counted exactly."""
from __future__ import annotations

from services.gateway.workers.admission import DispatchAdmission


class FakeRegistry:
    def __init__(self, online: int) -> None:
        self.online_now, self.asked = online, 0

    async def online(self, group: str) -> int:
        self.asked += 1
        return self.online_now


class FakeQueue:
    def __init__(self, depth: int) -> None:
        self.depth_now, self.counted = depth, 0

    async def depth(self, group: str) -> int:
        self.counted += 1
        return self.depth_now


async def test_a_worker_connected_here_needs_no_registry_read():
    registry = FakeRegistry(online=0)
    admission = DispatchAdmission(registry, FakeQueue(0))
    assert await admission.workers_online("g", connected_here=True)
    assert registry.asked == 0


async def test_a_yes_is_kept_a_no_is_not():
    registry = FakeRegistry(online=0)
    admission = DispatchAdmission(registry, FakeQueue(0), online_ttl_s=60)
    assert not await admission.workers_online("g", connected_here=False)
    registry.online_now = 1  # a worker connected on another instance: seen at once
    assert await admission.workers_online("g", connected_here=False)
    registry.online_now = 0
    assert await admission.workers_online("g", connected_here=False)  # kept for online_ttl_s
    assert registry.asked == 2


async def test_the_queue_is_counted_exactly_from_half_full_and_full_is_refused():
    queue = FakeQueue(0)
    admission = DispatchAdmission(FakeRegistry(1), queue, depth_ttl_s=60)
    for _ in range(6):
        assert not await admission.queue_full("g", max_length=6)
        queue.depth_now += 1  # the admitted task is queued
    assert await admission.queue_full("g", max_length=6)
    # Counted for the first; skipped while under half full (2nd, 3rd); then every time.
    assert queue.counted == 5


async def test_a_recheck_count_resets_what_was_admitted_since():
    queue = FakeQueue(0)
    admission = DispatchAdmission(FakeRegistry(1), queue, depth_ttl_s=60)
    for _ in range(2):
        assert not await admission.queue_full("g", max_length=10)
    admission.counted({})  # the hub's re-check: the group's queue is empty (its tasks were taken)
    assert not await admission.queue_full("g", max_length=10)
    assert queue.counted == 1
