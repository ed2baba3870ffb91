"""Billing's message handlers: short functions from a request event to a ledger call and a reply."""
from __future__ import annotations

import asyncio
import logging
import time

from services.billing import metrics
from shared.crash_points import crash_point
from shared.events import HoldPlaced, HoldRejected, HoldRequested, TopupApplied, TopupRequested, WalletSnapshot
from shared.kafka import EventPublisher
from shared.ledger import HoldOutcome, KeySpend, Ledger, Placement

log = logging.getLogger(__name__)


async def place_holds(requests: list[HoldRequested], ledger: Ledger, publisher: EventPublisher) -> None:
    """Places a batch's holds together (`Ledger.place_holds`), then answers each request."""
    started = time.perf_counter()
    outcomes = await ledger.place_holds([
        Placement(r.hold_id, r.user_id, r.amount, KeySpend(r.key_id, r.key_quota) if r.key_id else None)
        for r in requests])
    for _ in requests:  # each placement waited for the batch
        metrics.OPERATION_SECONDS.labels("place_hold").observe(time.perf_counter() - started)
    await asyncio.gather(*(publisher.publish(_answer(request, outcome)) for request, outcome in zip(requests, outcomes)))


def _answer(request: HoldRequested, outcome: HoldOutcome) -> HoldPlaced | HoldRejected:
    if outcome.placed:
        crash_point("billing.hold_written")
        metrics.HOLDS.labels("placed", "").inc()
        metrics.HELD_QUOTA.inc(outcome.amount)
        return HoldPlaced(correlation_id=request.correlation_id, hold_id=outcome.hold_id,
                          user_id=request.user_id, amount=outcome.amount)
    metrics.HOLDS.labels("rejected", outcome.reason or "").inc()
    return HoldRejected(correlation_id=request.correlation_id, hold_id=outcome.hold_id,
                        user_id=request.user_id, amount=outcome.amount, reason=outcome.reason)


async def apply_topup(request: TopupRequested, ledger: Ledger, publisher: EventPublisher) -> None:
    with metrics.OPERATION_SECONDS.labels("topup").time():
        outcome = await ledger.topup(request.op_id, request.user_id, request.amount)
    metrics.TOPUPS.labels("applied" if outcome.applied else "rejected").inc()
    if outcome.applied:
        metrics.TOPUP_AMOUNT.inc(request.amount)
    wallet = WalletSnapshot(**outcome.wallet.amounts()) if outcome.wallet else None
    await publisher.publish(TopupApplied(correlation_id=request.correlation_id, op_id=request.op_id,
                                         user_id=request.user_id, amount=request.amount,
                                         ok=outcome.applied, wallet=wallet))


async def handle_batch(handle, requests, ledger: Ledger, publisher: EventPublisher) -> None:
    """Handles a batch; an exception makes the whole batch redeliver, which is harmless because
    every operation is idempotent by its id. Its operations release their wallet ids together."""
    async with ledger.releasing_together():
        await handle(requests, ledger, publisher)


async def apply_topups(requests: list[TopupRequested], ledger: Ledger, publisher: EventPublisher) -> None:
    await asyncio.gather(*(apply_topup(r, ledger, publisher) for r in requests))
