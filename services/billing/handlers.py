"""Billing's message handlers: short functions from a request event to a ledger call and a reply."""
from __future__ import annotations

import asyncio
import logging

from services.billing import metrics
from shared.crash_points import crash_point
from shared.events import HoldPlaced, HoldRejected, HoldRequested, TopupApplied, TopupRequested, WalletSnapshot
from shared.kafka import EventPublisher
from shared.ledger import KeySpend, Ledger

log = logging.getLogger(__name__)


async def place_hold(request: HoldRequested, ledger: Ledger, publisher: EventPublisher) -> None:
    with metrics.OPERATION_SECONDS.labels("place_hold").time():
        key = KeySpend(request.key_id, request.key_quota) if request.key_id else None
        outcome = await ledger.place_hold(request.hold_id, request.user_id, request.amount, key)
    if outcome.placed:
        crash_point("billing.hold_written")
        metrics.HOLDS.labels("placed", "").inc()
        metrics.HELD_QUOTA.inc(outcome.amount)
        reply = HoldPlaced(correlation_id=request.correlation_id, hold_id=outcome.hold_id,
                           user_id=request.user_id, amount=outcome.amount)
    else:
        metrics.HOLDS.labels("rejected", outcome.reason or "").inc()
        reply = HoldRejected(correlation_id=request.correlation_id, hold_id=outcome.hold_id,
                             user_id=request.user_id, amount=outcome.amount, reason=outcome.reason)
    await publisher.publish(reply)


async def apply_topup(request: TopupRequested, ledger: Ledger, publisher: EventPublisher) -> None:
    with metrics.OPERATION_SECONDS.labels("topup").time():
        outcome = await ledger.topup(request.op_id, request.user_id, request.amount)
    metrics.TOPUPS.labels("applied" if outcome.applied else "rejected").inc()
    if outcome.applied:
        metrics.TOPUP_AMOUNT.inc(request.amount)
    wallet = WalletSnapshot(**outcome.wallet) if outcome.wallet else None
    await publisher.publish(TopupApplied(correlation_id=request.correlation_id, op_id=request.op_id,
                                         user_id=request.user_id, amount=request.amount,
                                         ok=outcome.applied, wallet=wallet))


async def handle_batch(handler, requests, ledger: Ledger, publisher: EventPublisher) -> None:
    """Handles a batch concurrently; an exception makes the whole batch redeliver, which is
    harmless because every operation is idempotent by its id."""
    async with ledger.releasing_together():
        await asyncio.gather(*(handler(r, ledger, publisher) for r in requests))
