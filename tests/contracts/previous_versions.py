"""Payloads exactly as producers of schema_version 1 wrote them (JSON, as on the wire).

Never edit one: they are the compatibility promise to consumers still deployed. When an event's
`schema_version` goes up, add the new version's payloads beside these and keep these tests.
"""
from __future__ import annotations

_ENVELOPE = {"schema_version": 1, "occurred_at": "2026-11-25T12:00:00.000000Z"}

V1 = {
    "HoldRequested": {**_ENVELOPE, "event_id": "e1", "producer": "gateway/a1", "correlation_id": "task_1",
                      "type": "billing.hold.requested", "hold_id": "hold_task_1", "user_id": "u1", "amount": 10},
    "TopupRequested": {**_ENVELOPE, "event_id": "e2", "producer": "gateway/a1", "correlation_id": "u1",
                       "type": "billing.topup.requested", "op_id": "topup:u1:r1", "user_id": "u1", "amount": 100},
    "HoldPlaced": {**_ENVELOPE, "event_id": "e3", "producer": "billing/b1", "correlation_id": "task_1",
                   "type": "billing.hold.placed", "hold_id": "hold_task_1", "user_id": "u1", "amount": 10},
    "HoldRejected": {**_ENVELOPE, "event_id": "e4", "producer": "billing/b1", "correlation_id": "task_1",
                     "type": "billing.hold.rejected", "hold_id": "hold_task_1", "user_id": "u1", "amount": 10,
                     "reason": "insufficient_quota"},
    "TopupApplied": {**_ENVELOPE, "event_id": "e5", "producer": "billing/b1", "correlation_id": "u1",
                     "type": "billing.topup.applied", "op_id": "topup:u1:r1", "user_id": "u1", "amount": 100,
                     "ok": True, "wallet": {"available": 100, "held": 0, "used": 0, "credited": 100, "debt": 0}},
    "TaskStatusChanged": {**_ENVELOPE, "event_id": "e6", "producer": "poller/p1", "correlation_id": "task_1",
                          "type": "task.status_changed", "task_id": "task_1", "user_id": "u1", "status": "SUCCESS",
                          "previous_status": "IN_PROGRESS", "progress": "100%", "reason": None},
    # Published for consumers outside this repository (docs/asyncapi.json): none reads them here.
    "TaskSubmitted": {**_ENVELOPE, "event_id": "e8", "producer": "gateway/a1", "correlation_id": "task_1",
                      "type": "task.submitted", "task_id": "task_1", "user_id": "u1", "model": "my-video",
                      "channel_id": "ch_1", "upstream_task_id": "up_1"},
    "BillingSettled": {**_ENVELOPE, "event_id": "e9", "producer": "settlement/s1", "correlation_id": "task_1",
                       "type": "billing.settled", "task_id": "task_1", "hold_id": "hold_task_1", "user_id": "u1",
                       "outcome": "captured", "hold_amount": 10, "charged": 8, "refunded": 2},
    "WorkQueued": {**_ENVELOPE, "event_id": "e10", "producer": "gateway/a1", "correlation_id": "gpu",
                   "type": "dispatch.work_queued", "group": "gpu"},
    "WorkerTokenRevoked": {**_ENVELOPE, "event_id": "e11", "producer": "gateway/a1", "correlation_id": "wtk_1",
                           "type": "dispatch.worker_token_revoked", "token_id": "wtk_1"},
}

# schema_version 2 of `billing.hold.requested`: the spending API key and its quota limit.
V2 = {
    "HoldRequested": {**_ENVELOPE, "schema_version": 2, "event_id": "e7", "producer": "gateway/a1",
                      "correlation_id": "task_2", "type": "billing.hold.requested", "hold_id": "hold_task_2",
                      "user_id": "u1", "amount": 10, "key_id": "key_1", "key_quota": 500},
}
