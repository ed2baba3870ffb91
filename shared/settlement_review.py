"""Settlement guardrails and the review of a settlement they capped.

A channel may bound what one settlement charges: `max_charge` (quota units) and
`max_charge_multiple` (of the task's hold). Both are snapshotted on the task at submit
(`guardrails`), beside its billing terms, so a later channel edit never changes a running task's
rules. A final cost above either (and above the hold) is captured at the hold only, and the task
is flagged `review` with the uncapped figure:

    review = {state: pending | approved | dismissed, reason: max_charge | max_charge_multiple,
              uncapped, capped, rest (= uncapped - capped), flagged_at, decided_at,
              charged, debt (an approval's charge, once made)}

An admin decides once. Approving charges the rest as its own ledger operation (`<hold id>:review`,
`Ledger.charge_review`): what `available` covers is charged, the remainder is recorded as debt,
as a capture's shortfall is; dismissing charges nothing. The decision is one conditional update
on the task, so of concurrent decisions exactly one wins; a repeated one answers the stored
decision, and the opposite one is refused (`ReviewDecided`). An approval that stopped after its
decision and before its charge is finished by the next approve (the charge is idempotent).
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pymongo.asynchronous.database import AsyncDatabase

from shared.channels import Channel
from shared.clock import stamp
from shared.consumption import ConsumptionLogs
from shared.ledger import Ledger
from shared.task_reads import TaskReads
from shared.task_record import Task
from shared.tasks import TaskStore

GUARDRAIL_FIELDS = ("max_charge", "max_charge_multiple")
Decision = Literal["approved", "dismissed"]


class ReviewNotFound(Exception):
    """No such task, or its settlement was not flagged for review."""


class ReviewDecided(Exception):
    """The review was decided the other way already."""

    def __init__(self, review: dict[str, Any]) -> None:
        super().__init__(f"the review was {review['state']} already")
        self.review = review


def guardrails_of(channel: Channel) -> dict[str, Any] | None:
    """The channel's guardrails as a task snapshots them at submit; None: it has none."""
    found = {field: getattr(channel, field) for field in GUARDRAIL_FIELDS if getattr(channel, field) is not None}
    if "max_charge_multiple" in found:
        found["max_charge_multiple"] = str(found["max_charge_multiple"])  # exact, as the channel stores it
    return found or None


def breach(cost: int, hold: int, guardrails: dict[str, Any] | None) -> str | None:
    """Which guardrail a final cost breaks (capping it at the hold); None: it is charged as it is.
    A cost within the hold is never capped: capping it at the hold would change nothing."""
    if not guardrails or cost <= hold:
        return None
    if guardrails.get("max_charge") is not None and cost > int(guardrails["max_charge"]):
        return "max_charge"
    multiple = guardrails.get("max_charge_multiple")
    if multiple is not None and cost > hold * Decimal(str(multiple)):
        return "max_charge_multiple"
    return None


def flagged(reason: str, cost: int, hold: int) -> dict[str, Any]:
    return {"state": "pending", "reason": reason, "uncapped": cost, "capped": hold, "rest": cost - hold,
            "flagged_at": stamp()}


class SettlementReviews:
    def __init__(self, db: AsyncDatabase, ledger: Ledger) -> None:
        self._tasks, self._reads = TaskStore(db), TaskReads(db)
        self._logs, self._ledger = ConsumptionLogs(db), ledger

    async def flag_many(self, reviews: list[tuple[str, dict[str, Any]]]) -> None:
        """Flags each task's review unless it was flagged before (a resumed settlement)."""
        await self._tasks.flag_reviews(reviews)

    async def page(self, state: str, limit: int, offset: int) -> tuple[list[Task], int]:
        """Tasks whose review is in `state`, oldest flagged first."""
        return await self._reads.reviews(state, limit, offset)

    async def decide(self, task_id: str, decision: Decision) -> dict[str, Any]:
        """Approves or dismisses the task's review, once; answers the review as decided."""
        task = await self._tasks.decide_review(task_id, decision)
        if task is None:
            task = await self._tasks.record(task_id)
            if task is None or not task.review:
                raise ReviewNotFound(task_id)
            if task.review["state"] != decision:
                raise ReviewDecided(task.review)
        review = task.review
        assert review is not None and task.hold_id is not None, "only a held task's settlement is reviewed"
        if decision == "approved" and "charged" not in review:
            charge = await self._ledger.charge_review(task.hold_id, int(review["rest"]))
            review = {**review, "charged": charge.charged, "debt": charge.debt}
            await self._tasks.review_charged(task_id, charge.charged, charge.debt)
        await self._logs.set_review(task_id, review)
        return review
