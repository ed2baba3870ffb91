"""Admin review of settlements a channel guardrail capped (shared/settlement_review.py): the list,
and one decision per task. A repeated decision answers 200 with the stored review; the opposite
decision answers 409 `review_decided` (with the stored review under `review`)."""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from services.gateway.deps import AdminAuth, Deps
from services.gateway.errors import ApiError, NotFound
from services.gateway.paging import Offset
from shared.ledger.store import LeaseBusy
from shared.settlement_review import Decision, ReviewDecided, ReviewNotFound, SettlementReviews
from shared.task_record import Task

router = APIRouter(prefix="/admin/reviews", tags=["admin"], dependencies=[AdminAuth])
TaskId = Path(max_length=200)


class ReviewPublic(BaseModel):
    state: Literal["pending", "approved", "dismissed"]
    reason: Literal["max_charge", "max_charge_multiple"]
    uncapped: int = Field(description="The final cost before the cap, in quota units.")
    capped: int = Field(description="What the settlement charged: the hold.")
    rest: int = Field(description="uncapped - capped: what an approval charges.")
    flagged_at: str
    decided_at: str | None = None
    charged: int | None = Field(None, description="Approved: the part of rest the wallet covered.")
    debt: int | None = Field(None, description="Approved: the part recorded as debt.")


class ReviewedTask(BaseModel):
    task_id: str
    user_id: str
    model: str | None = None
    channel_id: str | None = None
    hold_id: str | None = None
    finished_at: str | None = None
    review: ReviewPublic


class ReviewPage(BaseModel):
    data: list[ReviewedTask]
    total: int
    limit: int
    offset: int


def _reviewed(task: Task) -> ReviewedTask:
    return ReviewedTask(task_id=task.id, user_id=task.user_id, model=task.model, channel_id=task.channel_id,
                        hold_id=task.hold_id, finished_at=task.finished_at, review=ReviewPublic(**task.review or {}))


@router.get("", response_model=ReviewPage)
async def reviews(deps: Deps, state: Literal["pending", "approved", "dismissed"] = "pending",
                  limit: int = Query(50, ge=1, le=500), offset: Offset = 0) -> ReviewPage:
    rows, total = await SettlementReviews(deps.db, deps.ledger).page(state, limit, offset)
    return ReviewPage(data=[_reviewed(r) for r in rows], total=total, limit=limit, offset=offset)


async def _decide(deps: Deps, task_id: str, decision: Decision) -> ReviewPublic:
    try:
        return ReviewPublic(**await SettlementReviews(deps.db, deps.ledger).decide(task_id, decision))
    except ReviewNotFound:
        raise NotFound("no settlement review for this task") from None
    except ReviewDecided as decided:
        raise ApiError(f"this review was {decided.review['state']} already", code="review_decided", status=409,
                       extra={"review": ReviewPublic(**decided.review).model_dump()}) from None
    except LeaseBusy:
        raise ApiError("the review's charge is in progress; retry", code="review_busy", status=503) from None


@router.post("/{task_id}/approve", response_model=ReviewPublic, responses={
    404: {"description": "not_found"}, 409: {"description": "review_decided: it was dismissed"}})
async def approve(deps: Deps, task_id: str = TaskId) -> ReviewPublic:
    """Charges the rest the cap left (from available, the remainder as debt), once."""
    return await _decide(deps, task_id, "approved")


@router.post("/{task_id}/dismiss", response_model=ReviewPublic, responses={
    404: {"description": "not_found"}, 409: {"description": "review_decided: it was approved"}})
async def dismiss(deps: Deps, task_id: str = TaskId) -> ReviewPublic:
    """Leaves the settlement at the hold, once."""
    return await _decide(deps, task_id, "dismissed")
