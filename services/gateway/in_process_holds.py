"""Holds placed by the gateway itself, through the ledger billing runs (`shared.ledger`), when
`HOLD_PLACEMENT=gateway` (the default): no Kafka round trip on the way to the upstream.

The money rules do not depend on which process runs them: every step of a placement is a
conditional MongoDB write guarded by the hold's lease, idempotent by the hold id, so a gateway
and billing (or two gateways) may place holds on one wallet at once. A gateway that dies mid-way
leaves its hold `pending` with a lease; billing's recovery sweep resumes it once the lease ran out,
and the task, never submitted, fails at its `next_poll_at`, which voids the hold.

Holds that arrive while a batch is being written go together in the next one
(`Ledger.place_holds`: one bulk write per step for all of them), so a burst costs a few writes
per batch, and a lone hold the writes of `Ledger.place_hold`, with no wait for company.
"""
from __future__ import annotations

import asyncio
import contextvars
import logging
from dataclasses import dataclass

from opentelemetry.trace import SpanKind
from pymongo.errors import PyMongoError

from services.gateway import metrics
from services.gateway.errors import BillingUnavailable
from shared import tracing
from shared.crash_points import crash_point
from shared.ledger import HoldOutcome, KeySpend, Ledger, LeaseBusy, Placement

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Asked:
    placement: Placement
    task_id: str
    traceparent: str | None  # the asking request's trace, which the write's span joins
    decided: asyncio.Future[HoldOutcome]


class InProcessHolds:
    def __init__(self, ledger: Ledger, *, max_batch: int, timeout_s: float) -> None:
        """`timeout_s`: the longest a hold waits for its decision (its batch's turn and write)."""
        self._ledger = ledger
        self._max_batch = max_batch
        self._timeout_s = timeout_s
        self._waiting: list[_Asked] = []
        self._writer: asyncio.Task | None = None

    async def hold(self, hold_id: str, user_id: str, amount: int, task_id: str, *, key_id: str | None = None,
                   key_quota: int | None = None) -> HoldOutcome:
        """The same answer as `BillingClient.hold`."""
        placement = Placement(hold_id, user_id, amount, KeySpend(key_id, key_quota) if key_id else None)
        decided: asyncio.Future[HoldOutcome] = asyncio.get_running_loop().create_future()
        decided.add_done_callback(_seen)  # a caller that timed out no longer reads its failure
        self._waiting.append(_Asked(placement, task_id, tracing.stored_context().get("traceparent"), decided))
        if self._writer is None or self._writer.done():
            # In a context of its own: the writer outlives the request that started it, whose
            # trace and task its commands and log lines are not about.
            self._writer = asyncio.create_task(self._write(), name="hold batches", context=contextvars.Context())
        try:
            with metrics.HOLD_REPLY_SECONDS.time():
                # Shielded: a caller that gives up leaves the placement to finish, and its task,
                # failed by the caller, voids whatever it placed.
                outcome = await asyncio.wait_for(asyncio.shield(decided), self._timeout_s)
        except (asyncio.TimeoutError, PyMongoError, LeaseBusy) as exc:
            metrics.BILLING_TIMEOUTS.inc()
            raise BillingUnavailable("the hold could not be decided in time; retry with the same id") from exc
        metrics.HOLDS.labels("placed" if outcome.placed else "rejected", outcome.reason or "").inc()
        if outcome.placed:
            metrics.HELD_QUOTA.inc(outcome.amount)
        return outcome

    async def _write(self) -> None:
        """Writes the waiting holds batch after batch until none wait."""
        while self._waiting:
            batch, self._waiting = self._waiting[:self._max_batch], self._waiting[self._max_batch:]
            try:
                # The wallet ids are released after the decisions are handed out (at the block's end).
                async with self._ledger.releasing_together():
                    with tracing.handling("place holds", SpanKind.INTERNAL, (
                            (asked.placement.hold_id, asked.task_id, tracing.resumed_context(asked.traceparent))
                            for asked in batch), {}):
                        outcomes = await self._ledger.place_holds([asked.placement for asked in batch])
                    crash_point("gateway.hold_written")
                    for asked, outcome in zip(batch, outcomes):
                        _decide(asked.decided, outcome)
            except Exception as exc:
                # One hold's failure (a lease another process holds past our patience) must not
                # fail the others: each is placed again alone, and hears its own outcome. What a
                # failed write left stays for the caller's void (or billing's recovery) to finish.
                log.warning("a batch of holds failed; placing them one by one",
                            extra={"holds": len(batch), "error": repr(exc)})
                await self._one_by_one([asked for asked in batch if not asked.decided.done()])

    async def _one_by_one(self, batch: list[_Asked]) -> None:
        try:
            async with self._ledger.releasing_together():
                outcomes = await asyncio.gather(*(self._ledger.place_hold(
                    asked.placement.hold_id, asked.placement.user_id, asked.placement.amount, asked.placement.key)
                    for asked in batch), return_exceptions=True)
                for asked, outcome in zip(batch, outcomes):
                    _decide(asked.decided, outcome)
        except Exception as exc:  # the release failed: the holds decided above stay decided
            for asked in batch:
                _decide(asked.decided, exc)


def _decide(decided: asyncio.Future[HoldOutcome], outcome: HoldOutcome | BaseException) -> None:
    if decided.done():
        return
    if isinstance(outcome, BaseException):
        decided.set_exception(outcome)
    else:
        decided.set_result(outcome)


def _seen(decided: asyncio.Future) -> None:
    if not decided.cancelled():
        decided.exception()
