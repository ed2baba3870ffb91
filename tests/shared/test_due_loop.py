"""When a loop over due work runs (shared/due_loop.py): at most every tick, as soon as work is due,
at least every idle bound while none is, and at once (after the tick) when woken."""
from __future__ import annotations

import asyncio

from shared.due_loop import DueClaim, DueLoop
from shared.clock import stamp_in


def test_the_wait_is_the_time_until_the_next_due_task_within_tick_and_idle():
    loop = DueLoop(lambda: None, tick_s=1.0, idle_s=5.0, name="test")
    assert loop.wait_s(None) == 5.0  # nothing live
    assert loop.wait_s(stamp_in(-30)) == 1.0  # overdue (or leased just now): the next tick
    assert 2.5 < loop.wait_s(stamp_in(3)) <= 3.0
    assert loop.wait_s(stamp_in(60)) == 5.0
    assert DueLoop(lambda: None, tick_s=2.0, idle_s=0.5, name="test").wait_s(None) == 2.0  # idle never below the tick


async def test_an_idle_loop_sweeps_when_woken_and_otherwise_waits_its_idle_bound():
    sweeps: list[float] = []
    swept = asyncio.Event()

    async def sweep() -> str | None:
        sweeps.append(asyncio.get_running_loop().time())
        swept.set()
        return None  # nothing live

    loop = DueLoop(sweep, tick_s=0.05, idle_s=30.0, name="test")
    running = asyncio.create_task(loop.run())
    try:
        await asyncio.wait_for(swept.wait(), 10)
        for _ in range(3):
            swept.clear()
            loop.wake()
            await asyncio.wait_for(swept.wait(), 10)  # far inside the 30 s idle bound: the wake did it
        assert len(sweeps) == 4
        assert all(b - a >= 0.05 for a, b in zip(sweeps, sweeps[1:]))  # never closer than the tick
    finally:
        running.cancel()


async def test_a_failing_sweep_is_retried_after_a_tick():
    calls = 0
    recovered = asyncio.Event()

    async def sweep() -> str | None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("mongo away")
        recovered.set()
        return None

    running = asyncio.create_task(DueLoop(sweep, tick_s=0.05, idle_s=30.0, name="test").run())
    try:
        await asyncio.wait_for(recovered.wait(), 10)
    finally:
        running.cancel()


def test_a_claim_that_leased_is_due_again_at_once_else_at_its_earliest():
    assert DueClaim([], None).next_due_at() is None
    assert DueClaim([], "2999-01-01T00:00:00Z").next_due_at() == "2999-01-01T00:00:00Z"
    assert DueClaim([{"_id": "t"}], "2999-01-01T00:00:00Z").next_due_at() < "2999"
