"""Settling a terminal task: capture or void its hold, one consumption log, `billing.settled`.

Every step is idempotent (the hold ends once, the log is upserted by task id), so a redelivered
event, two paths reporting the same completion, or a crash mid-way all end in the same state.
"""
from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging

from pymongo.asynchronous.database import AsyncDatabase

from services.settlement import metrics
from shared import pricing
from shared.consumption import write_logs
from shared.hourly_stats import count_settled, forget_applied
from shared.crash_points import crash_point
from shared.events import BillingSettled, TaskStatusChanged
from shared.kafka import EventPublisher
from shared.task_events import publish_stored
from shared.ledger import HoldEnd, Ledger, SettleOutcome
from shared.settlement_review import SettlementReviews, breach, flagged
from shared.status import TaskStatus, to_pass_status
from shared.clock import seconds_since, stamp
from shared.task_record import Task
from shared.tasks import TaskStore
from shared.webhook_deliveries import Wanted, WebhookDeliveries, wants

log = logging.getLogger(__name__)


def final_cost(task: Task) -> int:
    # No trustworthy usage (none reported, or a malformed report): charge what was held.
    return pricing.final_cost(task.billing or {}, task.usage, held=task.hold_amount)


class Settler:
    """Settles what arrives together together: the ledger ends the batch's holds with one bulk
    write per step (`Ledger.end_holds`), then one bulk write stores the batch's consumption logs
    and one marks its tasks settled."""

    def __init__(self, db: AsyncDatabase, tasks: TaskStore, ledger: Ledger, publisher: EventPublisher,
                 deliveries: WebhookDeliveries | None = None) -> None:
        """`deliveries`: where the `completed` webhooks of settled tasks are recorded (None: none are)."""
        self._db, self._tasks, self._ledger, self._publisher = db, tasks, ledger, publisher
        self._deliveries = deliveries
        self._reviews = SettlementReviews(db, ledger)

    async def settle_changed(self, events: list[TaskStatusChanged]) -> list[SettleOutcome | None]:
        """Settles the terminal tasks events announce, from the facts they carry where they do
        (else from the stored task). A redelivered event settles nothing twice: the hold ends
        once, and a hold that had ended already sends us to the task, which says it was settled."""
        return await self._settle_all(await asyncio.gather(*(self._known(event) for event in events)))

    async def settle(self, task_id: str) -> SettleOutcome | None:
        """Settles a task as stored, unless it is not terminal or was settled already."""
        return (await self._settle_all([await self._stored(task_id)]))[0]

    async def _known(self, event: TaskStatusChanged) -> tuple[Task, bool] | None:
        if event.settlement is None:
            return await self._stored(event.task_id)
        return Task.from_event(event, event.settlement), False

    async def _stored(self, task_id: str) -> tuple[Task, bool] | None:
        task = await self._tasks.record(task_id)
        if task is None or not task.status.is_terminal or task.settled:
            return None
        return task, True

    async def _settle_all(self, known: list[tuple[Task, bool] | None]) -> list[SettleOutcome | None]:
        # A capped charge flags the task for review: settled from here on with that review.
        known = [None if item is None else (_with_review(item[0]), item[1]) for item in known]
        items = [item for item in known if item]
        async with self._ledger.releasing_together():
            ended = iter(await self._ledger.end_holds([_hold_end(task) for task, _ in items]) if items else [])
        outcomes = await asyncio.gather(*(self._unless_settled(*item, next(ended)) if item else _nothing()
                                          for item in known))
        settled = [(item[0], outcome) for item, outcome in zip(known, outcomes) if outcome is not None]
        if not settled:
            return list(outcomes)
        crash_point("settlement.hold_settled")
        await self._reviews.flag_many([(task.id, task.review) for task, _ in settled if task.review])
        await write_logs(self._db, settled)
        await count_settled(self._db, settled)  # exact across a crash: see shared/hourly_stats.py
        if self._deliveries is not None:  # before the tasks count as settled, so a crash loses none
            await self._deliveries.record(*(Wanted(task, "completed") for task, _ in settled if wants(task, "completed")))
        await self._tasks.mark_settled_many([(task.id, {
            "outcome": outcome.outcome, "hold": outcome.hold, "charged": outcome.charged,
            "refunded": outcome.refunded, "debt": outcome.debt, "settled_at": stamp()}) for task, outcome in settled])
        await forget_applied(self._db, [task for task, _ in settled])
        for task, outcome in settled:
            await self._announce(task, outcome)
        return list(outcomes)

    async def _unless_settled(self, task: Task, stored: bool, outcome: SettleOutcome) -> SettleOutcome | None:
        """The outcome of ending the task's hold, or None when the task had been settled before.
        `stored`: the task was read from MongoDB (and found unsettled); else it comes from an
        event, which may be a redelivery."""
        if outcome.repeated and not stored:
            current = await self._tasks.record(task.id)
            if current is None or current.settled:
                return None  # settled before: a redelivery, nothing to log or announce again
        return outcome

    async def _announce(self, task: Task, outcome: SettleOutcome) -> None:
        await publish_stored(self._publisher, BillingSettled(
            correlation_id=task.id, task_id=task.id, hold_id=task.hold_id, user_id=task.user_id,
            outcome="captured" if outcome.outcome == "captured" else "voided", hold_amount=outcome.hold,
            charged=outcome.charged, refunded=outcome.refunded, debt=outcome.debt))
        self._observe(task, outcome)

    def _observe(self, task: Task, outcome: SettleOutcome) -> None:
        metrics.SETTLEMENTS.labels(outcome.outcome).inc()
        metrics.SETTLED_QUOTA.labels("charged").inc(outcome.charged)
        metrics.SETTLED_QUOTA.labels("refunded").inc(outcome.refunded)
        metrics.SETTLED_QUOTA.labels("debt").inc(outcome.debt)
        metrics.HOLD_QUOTA.labels(outcome.outcome).inc(outcome.hold)
        metrics.LOGS_WRITTEN.inc()
        metrics.count_margin(task, outcome.charged)
        if task.review and task.channel_id:
            metrics.CAPPED.labels(task.channel_id).inc()
        if outcome.debt:
            metrics.DEBTS.inc()
            log.warning("shortfall recorded as debt", extra={"task_id": task.id, "debt": outcome.debt})
        if task.finished_at:
            metrics.LAG_SECONDS.observe(max(seconds_since(task.finished_at), 0.0))


def _capped(task: Task) -> tuple[int, str | None]:
    """A successful task's charge, and why a channel guardrail caps it at the hold (None: it does not)."""
    cost = final_cost(task)
    return cost, breach(cost, task.hold_amount, task.guardrails)


def _with_review(task: Task) -> Task:
    """The task flagged for an admin's review when a guardrail caps its charge (a review it
    carries already, from an earlier attempt, is kept)."""
    if task.status != TaskStatus.SUCCESS or task.review is not None:
        return task
    cost, reason = _capped(task)
    return task if reason is None else dataclasses.replace(task, review=flagged(reason, cost, task.hold_amount))


def _hold_end(task: Task) -> HoldEnd:
    """How the task's hold ends: a success captures its cost, capped at the hold by a guardrail;
    anything else voids it."""
    if task.status != TaskStatus.SUCCESS:
        return HoldEnd(task.hold_id, task.user_id)
    cost, reason = _capped(task)
    return HoldEnd(task.hold_id, task.user_id, task.hold_amount if reason is not None else cost)


async def record_progress(deliveries: WebhookDeliveries, events: list[TaskStatusChanged]) -> None:
    """Records a `progress` webhook for each non-terminal change of a task whose caller asked for
    them (the event names its callback); one per state, so a redelivery or a second path that
    reports the same state records no second one."""
    wanted = []
    for event in events:
        if event.callback is not None and "progress" in event.callback.events:
            task = Task(id=event.task_id, user_id=event.user_id, status=event.status, callback_url=event.callback.url,
                        callback_events=event.callback.events)
            body = {"task_id": event.task_id, "status": to_pass_status(event.status.value),
                    "progress": event.progress or "0%"}
            state = hashlib.sha256(f"{event.status.value}|{event.progress}".encode()).hexdigest()[:16]
            wanted.append(Wanted(task, "progress", body, occurrence=state))
    await deliveries.record(*wanted)


async def _nothing() -> None:
    return None
