"""`Task`: a stored task as a record, built from its document or from the facts an event carries.

`TaskStore` (shared/tasks.py) and `TaskReads` (shared/task_reads.py) are the only code that names
the `tasks` collection, and what they answer and take are records: a new task is built as one
(`services/gateway/task_opening.new_task`) and stored as its document (`to_document`), every read
and every compare-and-swap answers one. The events built from a task read it too
(shared/task_events.py `status_changed`, `SettlementFacts.of`).

Who reads it:
- settlement (services/settlement/settle.py: `TaskStore.record`, or `Task.from_event`), with what it
  writes for a settled task: the consumption log (`LogEntry.of_settled`), the hourly counters
  (shared/hourly_stats.py), webhook deliveries (shared/webhook_deliveries.py) and reviews
  (shared/settlement_review.py);
- the poller: the tasks a sweep leases (`TaskStore.claim_due`) and its late watch
  (`TaskStore.records`), and what they are handed to: the providers' `query` and `cancel`, and
  `apply_observations` (shared/providers/observations.py), with `TaskStore.change_many`;
- every API's view of a task (shared/task_views.py, services/gateway/workers/views.py) and its
  signed receipt (shared/task_receipts.py);
- the gateway: the submit paths (async, sync, worker dispatch), the worker queue and its sockets
  (services/gateway/workers/), the task lists (`TaskReads`), the owner's lookups
  (`TaskStore.get_owned`), the task watch behind `Prefer: wait` and the event streams, webhooks,
  cancel, the Task API's status update, reconciliation (shared/reconciliation.py) and the console.

What stays a document is what only the repository reads: the poll schedule and leases
(`next_poll_at`, `poll_lease_until`) and `unsettled_since`.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from shared.events import SettlementFacts, TaskStatusChanged
from shared.status import TaskStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class Task:
    """What a task is and how it ended, as stored; None where the document never set a field.

    A frozen dataclass, not a pydantic model, as `Channel` is: the document was checked when it was
    written, and a read takes whatever older versions stored. The nested blocks (`billing`,
    `usage`, ...) are the stored values, never changed in place."""
    id: str
    user_id: str
    status: TaskStatus
    api: str | None = None  # which API made it: pass, task (shared/typed_tasks.py), dispatch
    model: str = ""
    mode: str = "async"
    task_type: str | None = None  # a typed task's product, with its input_image_url and params
    input_image_url: str | None = None
    params: str | None = None  # the JSON text of the typed task's parameters
    progress: str | None = None
    result: Any = None
    error: str | None = None  # a failure's message
    late_result: dict[str, Any] | None = None  # shared/late_results.py
    # A worker task's (services/gateway/workers/): its group, when it was queued and started (epoch
    # ms), the worker that took it.
    group: str | None = None
    payload: dict[str, Any] | None = None  # what the worker is sent: {model, messages, data}
    timeout_ms: int | None = None  # how long its caller gave it
    enqueued_ms: int | None = None
    started_ms: int | None = None
    worker_id: str | None = None
    key_id: str | None = None
    channel_id: str | None = None
    channel_kind: str | None = None  # the kind of that channel (a provider's, or `worker`)
    upstream_model: str | None = None  # the model's name upstream (the channel's model mapping)
    upstream_task_id: str | None = None  # the upstream's id, once it accepted the task
    request: dict[str, Any] | None = None  # the caller's request as forwarded: {body, query}
    task_lifetime_s: float | None = None  # the channel's at opening (None: the configured default)
    poll_errors: int = 0  # status queries that failed in a row
    traceparent: str | None = None  # the trace its submit stored (shared/tracing)
    hold_id: str | None = None
    hold_amount: int = 0
    billing: dict[str, Any] | None = None  # the pricing terms snapshotted at opening (shared/pricing.py)
    guardrails: dict[str, Any] | None = None  # the channel's charge caps (shared/settlement_review.py)
    usage: Any = None  # what the upstream reported it used, as stored (possibly malformed)
    upstream_cost: dict[str, Any] | None = None  # shared/upstream_cost.py
    upstream_cost_error: str | None = None  # why the upstream's cost figure was not believed
    review: dict[str, Any] | None = None  # set when a guardrail capped the charge
    fail_reason: str | None = None
    callback_url: str | None = None
    callback_events: list[str] | None = None
    created_at: str | None = None
    updated_at: str | None = None
    submitted_at: str | None = None
    finished_at: str | None = None
    settled: bool = False
    settlement: dict[str, Any] | None = None  # what settling it did: outcome, hold, charged, refunded, debt

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> Task:
        """Fields a document lacks or stores as null take their defaults; other keys are ignored."""
        values = {name: doc[name] for name in _STORED if doc.get(name) is not None}
        return cls(id=doc["_id"], user_id=doc["user_id"], status=TaskStatus(doc["status"]), **values)

    def to_document(self) -> dict[str, Any]:
        """The document a new task is stored as: its fields, those still None left out."""
        values = {name: getattr(self, name) for name in _STORED if getattr(self, name) is not None}
        return {"_id": self.id, "user_id": self.user_id, "status": self.status.value, **values}

    @classmethod
    def from_event(cls, event: TaskStatusChanged, facts: SettlementFacts) -> Task:
        """A terminal task as its event tells it (`facts`: the event's settlement facts)."""
        values = {name: value for name, value in facts.model_dump().items() if value is not None}
        return cls(id=event.task_id, user_id=event.user_id, status=event.status, **values)

    @property
    def price_ratio(self) -> str:
        return (self.billing or {}).get("price_ratio", "1")

    @property
    def upstream_quota(self) -> int:
        """What the upstream said the task cost, in quota (0: it said nothing)."""
        return int((self.upstream_cost or {}).get("quota") or 0)


_STORED = tuple(field.name for field in fields(Task) if field.name not in ("id", "user_id", "status"))
