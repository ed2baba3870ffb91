"""Hold requests take turns at billing (services/gateway/hold_queue.py): a burst waits here, within
a bounded wait, instead of timing out at billing; what gets no turn answers 503 with Retry-After."""
from __future__ import annotations

import asyncio

import pytest

from services.gateway.errors import RETRY_AFTER_S, BillingUnavailable, error_response
from services.gateway.hold_queue import HoldQueue
from services.gateway.task_api.errors import in_envelope_of


async def test_holds_beyond_the_bound_wait_for_a_turn_in_order() -> None:
    queue, in_flight, most, order = HoldQueue(max_in_flight=3, max_wait_s=5), 0, 0, []

    async def hold(index: int) -> None:
        nonlocal in_flight, most
        async with queue.turn():
            in_flight += 1
            most = max(most, in_flight)
            order.append(index)
            await asyncio.sleep(0.02)
            in_flight -= 1

    await asyncio.gather(*(hold(i) for i in range(20)))
    assert most == 3 and order == list(range(20))


async def test_a_hold_without_a_turn_within_the_wait_is_billing_unavailable() -> None:
    queue = HoldQueue(max_in_flight=1, max_wait_s=0.1)
    release = asyncio.Event()

    async def occupy() -> None:
        async with queue.turn():
            await release.wait()

    holder = asyncio.create_task(occupy())
    await asyncio.sleep(0)
    with pytest.raises(BillingUnavailable):
        async with queue.turn():
            pass
    release.set()
    await holder
    async with queue.turn():  # the turn that timed out was not lost
        pass


@pytest.mark.parametrize("path", ["/pass/video/submit", "/api/task/create"])
def test_a_503_billing_unavailable_names_a_retry_after(path: str) -> None:
    answer = error_response(in_envelope_of(path, BillingUnavailable("billing is busy")))
    assert answer.status_code == 503 and answer.headers["retry-after"] == str(RETRY_AFTER_S)
