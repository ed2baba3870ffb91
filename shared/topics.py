"""Kafka topic names. One place, so deployment (KafkaTopic CRs) and code cannot drift apart."""
from __future__ import annotations

HOLD_REQUESTED = "billing.hold.requested"
HOLD_PLACED = "billing.hold.placed"
HOLD_REJECTED = "billing.hold.rejected"
TOPUP_REQUESTED = "billing.topup.requested"
TOPUP_APPLIED = "billing.topup.applied"
BILLING_SETTLED = "billing.settled"
TASK_SUBMITTED = "task.submitted"
TASK_STATUS_CHANGED = "task.status_changed"
WORK_QUEUED = "dispatch.work_queued"
WORKER_TOKEN_REVOKED = "dispatch.worker_token_revoked"

ALL_TOPICS = (
    HOLD_REQUESTED, HOLD_PLACED, HOLD_REJECTED, TOPUP_REQUESTED, TOPUP_APPLIED,
    BILLING_SETTLED, TASK_SUBMITTED, TASK_STATUS_CHANGED, WORK_QUEUED, WORKER_TOKEN_REVOKED,
)

# Billing answers a request on these; every gateway instance reads them to wake its waiters.
BILLING_REPLY_TOPICS = (HOLD_PLACED, HOLD_REJECTED, TOPUP_APPLIED)
# Worker dispatch's news between gateway instances; every instance reads them, from now on.
DISPATCH_SIGNAL_TOPICS = (WORK_QUEUED, WORKER_TOKEN_REVOKED)


def qualified(name: str, prefix: str) -> str:
    return f"{prefix}{name}" if prefix else name
