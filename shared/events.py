"""Every Kafka message is one of these frozen pydantic models; its topic stands beside it.

Consumers are idempotent on the domain id (task id, hold id), not only on `event_id`, because
the same fact can arrive twice through different paths. Messages are keyed by `correlation_id`
(the task id, or the user id for top-ups) so one task's events stay in order on one partition.
"""
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from shared import topics
from shared.status import TaskStatus

if TYPE_CHECKING:  # the record is built from these facts (Task.from_event): only a type here
    from shared.task_record import Task


def _now() -> datetime:
    return datetime.now(UTC)


class Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    TOPIC: ClassVar[str]

    event_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    schema_version: int = 1
    occurred_at: datetime = Field(default_factory=_now)
    producer: str = Field("", description="The service instance that published the event.")
    correlation_id: str = Field(description="Task id (or user id for top-ups); also the Kafka key.")


class HoldRequested(Event):
    TOPIC: ClassVar[str] = topics.HOLD_REQUESTED
    type: Literal["billing.hold.requested"] = "billing.hold.requested"
    schema_version: int = 2  # 2: the key's fields; a version 1 request holds without a key limit
    hold_id: str
    user_id: str
    amount: int = Field(ge=0, description="Quota units to hold.")
    key_id: str | None = Field(None, description="The API key spending; its spend is tracked on the wallet.")
    key_quota: int | None = Field(None, ge=0, description=(
        "Most the key may spend in all (held + used); null: no limit beyond the wallet."))


RejectReason = Literal["insufficient_quota", "key_quota_exceeded", "not_member", "user_not_found", "user_disabled",
                       "cancelled"]


def hold_decisions() -> list[tuple[str, str]]:
    """Every (result, reason) a hold can be decided with: the labels of the hold counters, which
    exist from start-up at 0 so that rates and alerts see a rise from the first event."""
    return [("placed", ""), *(("rejected", reason) for reason in get_args(RejectReason))]


class HoldPlaced(Event):
    TOPIC: ClassVar[str] = topics.HOLD_PLACED
    type: Literal["billing.hold.placed"] = "billing.hold.placed"
    hold_id: str
    user_id: str
    amount: int


class HoldRejected(Event):
    TOPIC: ClassVar[str] = topics.HOLD_REJECTED
    type: Literal["billing.hold.rejected"] = "billing.hold.rejected"
    hold_id: str
    user_id: str
    amount: int
    reason: RejectReason


class TopupRequested(Event):
    TOPIC: ClassVar[str] = topics.TOPUP_REQUESTED
    type: Literal["billing.topup.requested"] = "billing.topup.requested"
    op_id: str
    user_id: str
    amount: int = Field(gt=0)


class WalletSnapshot(BaseModel):
    model_config = ConfigDict(frozen=True)
    available: int
    held: int
    used: int
    credited: int
    debt: int = 0


class TopupApplied(Event):
    TOPIC: ClassVar[str] = topics.TOPUP_APPLIED
    type: Literal["billing.topup.applied"] = "billing.topup.applied"
    op_id: str
    user_id: str
    amount: int
    ok: bool = Field(True, description="False when the user does not exist.")
    wallet: WalletSnapshot | None = None


class TaskSubmitted(Event):
    TOPIC: ClassVar[str] = topics.TASK_SUBMITTED
    type: Literal["task.submitted"] = "task.submitted"
    task_id: str
    user_id: str
    model: str
    channel_id: str
    upstream_task_id: str | None = None


class SettlementFacts(BaseModel):
    """What settling a terminal task needs of it, as stored when it ended: settlement settles
    from these instead of reading the task back. A terminal task never changes again, so they
    are final."""
    model_config = ConfigDict(frozen=True)

    hold_id: str
    hold_amount: int = Field(ge=0)
    billing: dict[str, Any] | None = Field(None, description="The pricing terms snapshotted at opening.")
    guardrails: dict[str, Any] | None = Field(None, description=(
        "The channel's max_charge / max_charge_multiple snapshotted at opening (shared/settlement_review.py)."))
    usage: Any = Field(None, description="What the upstream reported it used, as stored.")
    model: str
    channel_id: str | None = None
    key_id: str | None = None
    mode: str = "async"
    created_at: str | None = None
    finished_at: str | None = None
    fail_reason: str | None = None
    callback_url: str | None = None
    callback_events: list[str] | None = Field(None, description="What the caller's webhook wants; None: completed.")
    upstream_cost: dict[str, Any] | None = Field(None, description=(
        "What the upstream says the task cost: {amount, unit, quota} (shared/upstream_cost.py); None: not reported."))

    @classmethod
    def of(cls, task: Task) -> SettlementFacts:
        return cls.model_validate({field: getattr(task, field) for field in cls.model_fields})


class CallbackTarget(BaseModel):
    """Where a task's caller wants webhooks, on changes that are not the end (those carry it in
    their settlement facts)."""
    model_config = ConfigDict(frozen=True)

    url: str
    events: list[str] = Field(description="start, progress, completed: the caller's filter.")


class TaskStatusChanged(Event):
    TOPIC: ClassVar[str] = topics.TASK_STATUS_CHANGED
    type: Literal["task.status_changed"] = "task.status_changed"
    schema_version: int = 2  # 2: a terminal change carries its settlement facts
    task_id: str
    user_id: str
    status: TaskStatus
    previous_status: TaskStatus | None = None
    progress: str | None = None
    reason: str | None = Field(None, description="Why a task failed: timeout, upstream_error, ...")
    settlement: SettlementFacts | None = Field(None, description=(
        "On a terminal change of a task with a hold: what settling it needs. Absent (version 1, or "
        "a task without a hold): settlement reads the task."))
    callback: CallbackTarget | None = Field(None, description=(
        "On a non-terminal change of a task whose caller asked for `progress` webhooks: where to."))


class BillingSettled(Event):
    TOPIC: ClassVar[str] = topics.BILLING_SETTLED
    type: Literal["billing.settled"] = "billing.settled"
    task_id: str
    hold_id: str
    user_id: str
    outcome: Literal["captured", "voided"]
    hold_amount: int
    charged: int
    refunded: int
    debt: int = 0


class WorkQueued(Event):
    """A worker task was queued in `group`: gateways with an idle worker of the group claim it."""
    TOPIC: ClassVar[str] = topics.WORK_QUEUED
    type: Literal["dispatch.work_queued"] = "dispatch.work_queued"
    group: str


class WorkerTokenRevoked(Event):
    """A worker token was disabled or deleted: every gateway closes the sockets it opened."""
    TOPIC: ClassVar[str] = topics.WORKER_TOKEN_REVOKED
    type: Literal["dispatch.worker_token_revoked"] = "dispatch.worker_token_revoked"
    token_id: str


EVENT_TYPES: tuple[type[Event], ...] = (
    HoldRequested, HoldPlaced, HoldRejected, TopupRequested, TopupApplied,
    TaskSubmitted, TaskStatusChanged, BillingSettled, WorkQueued, WorkerTokenRevoked,
)

