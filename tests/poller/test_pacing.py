import asyncio

from services.poller.pacing import RequestPacer, requests_per_sweep


async def test_concurrent_callers_are_spaced_one_slot_apart():
    loop = asyncio.get_running_loop()
    pacer = RequestPacer()
    started: list[float] = []

    async def request() -> None:
        await pacer.wait_turn(20.0)
        started.append(loop.time())

    begun = loop.time()
    await asyncio.gather(*(request() for _ in range(6)))
    # The k-th request starts no sooner than k slots in (a late wake-up only delays it further);
    # asyncio timers may fire a hair early.
    assert all(moment >= begun + k * 0.05 - 0.005 for k, moment in enumerate(sorted(started)))


async def test_an_idle_pacer_does_not_make_the_next_request_wait():
    now = [100.0]
    pacer = RequestPacer(clock=lambda: now[0])
    await pacer.wait_turn(1.0)
    now[0] += 5.0
    await asyncio.wait_for(pacer.wait_turn(1.0), timeout=0.01)


def test_a_sweep_sends_what_fits_in_half_the_lease():
    assert requests_per_sweep(2.0, 60.0) == 60
    assert requests_per_sweep(0.01, 60.0) == 1
