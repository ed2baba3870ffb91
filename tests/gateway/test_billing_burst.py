"""A burst of submits against one wallet waits for its holds instead of failing: every answer is
200 or 402, whether the gateway places the holds itself (in batches, in_process_holds.py) or asks
billing (its requests taking turns, hold_queue.py); when billing is asked and gone, the 503 names a
Retry-After."""
from __future__ import annotations

import asyncio
import collections

import httpx
import pytest

from services.gateway.errors import RETRY_AFTER_S
from tests.harness.api import AdminApi
from tools.submit_burst import CLIENT_KEEPALIVE_S, burst_target

QUOTA, REQUESTS, CONCURRENCY = 200, 300, 100


async def _user_and_model(stack, quota: int) -> tuple[str, str, str]:
    admin = AdminApi(stack.gateway_url, stack.admin_token)
    try:
        return await burst_target(admin, stack.upstream_url, quota)
    finally:
        await admin.close()


@pytest.mark.parametrize("hold_placement", ["gateway", "billing"])
async def test_a_burst_against_one_wallet_answers_only_200_or_402(make_stack, hold_placement) -> None:
    # 100 holds sent at once can outlast a reply timeout on a loaded machine (main answered dozens
    # of 503s at 3 s); four at a time stay well within 10 s even when billing is starved.
    stack = make_stack(HOLD_PLACEMENT=hold_placement, HOLD_REPLY_TIMEOUT_S="10", HOLD_MAX_IN_FLIGHT="4",
                       HOLD_QUEUE_WAIT_S="240")
    user_id, key, model = await _user_and_model(stack, QUOTA + 1)
    answers: collections.Counter = collections.Counter()
    gate = asyncio.Semaphore(CONCURRENCY)
    async with httpx.AsyncClient(base_url=stack.gateway_url, headers={"Authorization": f"Bearer {key}"},
                                 timeout=180, limits=httpx.Limits(max_connections=CONCURRENCY,
                                                                  keepalive_expiry=CLIENT_KEEPALIVE_S)) as http:
        # One submit first: billing's consumer groups have joined once it is answered (the
        # top-up, applied by billing, is answered before this whichever places holds).
        warm_up = await http.post(f"/pass/{model}/submit", json={"prompt": "warm-up"})
        assert warm_up.status_code == 200, warm_up.text

        async def submit(index: int) -> None:
            async with gate:
                answer = await http.post(f"/pass/{model}/submit", json={"prompt": f"burst {index}"})
            answers[answer.status_code if answer.status_code != 503 else answer.text] += 1

        await asyncio.gather(*(submit(i) for i in range(REQUESTS)))
    assert answers == {200: QUOTA, 402: REQUESTS - QUOTA}
    admin = AdminApi(stack.gateway_url, stack.admin_token)
    wallet = await admin.wallet(user_id)
    await admin.close()
    assert wallet["available"] == 0 and wallet["held"] + wallet["used"] == QUOTA + 1


async def test_a_submit_billing_does_not_answer_is_503_with_retry_after(make_stack) -> None:
    stack = make_stack(services=["gateway", "mock_upstream"], HOLD_PLACEMENT="billing", HOLD_REPLY_TIMEOUT_S="0.5")
    _, key, model = await _user_and_model(stack, 0)  # no billing: the user's top-up is never applied
    async with httpx.AsyncClient(base_url=stack.gateway_url, headers={"Authorization": f"Bearer {key}"},
                                 timeout=30) as http:
        answer = await http.post(f"/pass/{model}/submit", json={"prompt": "x"})
    assert answer.status_code == 503 and answer.json()["code"] == "billing_unavailable", answer.text
    assert answer.headers["retry-after"] == str(RETRY_AFTER_S)
