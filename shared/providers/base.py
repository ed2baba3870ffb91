"""The seams upstreams sit behind. Every async upstream is a `StatusProvider` (seed 002's): submit
a task, ask about many at once, cancel one, read a webhook. Each speaks its own protocol and
answers in our canonical statuses, so the gateway, the poller and settlement never learn a
provider's words. A sync upstream (`POST /pass/{model}`) is a `SyncProvider`: price the hold, then
call, the answer opened so a stream can be relayed as it arrives (services/gateway/sync_pass.py).

A provider raises `shared.upstream.errors.UpstreamError`s for anything that goes wrong talking
to the upstream; `Unsupported` for what its upstream cannot do; `WebhookRejected` for a webhook
that must not be believed.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

import httpx

from shared.channels import Channel
from shared.settings import CustomPassSettings
from shared.status import TaskStatus
from shared.task_record import Task
from shared.upstream.caller_token import UpstreamCaller
from shared.upstream.custompass import Envelope, UpstreamCall


class Unsupported(Exception):
    """The upstream has no such operation (e.g. cancel, webhooks)."""


class InvalidBody(Exception):
    """The caller's request body cannot be sent to this upstream (a 400 for the caller)."""


class WebhookRejected(Exception):
    """A webhook that is not authentic, too old, or not about the task it names."""


@dataclass(frozen=True)
class Submitted:
    upstream_task_id: str
    progress: str | None = None


@dataclass(frozen=True)
class Observation:
    """What the upstream says about one task now, in our words."""
    upstream_task_id: str
    status: TaskStatus
    progress: str | None = None
    result: Any = None
    usage: dict[str, Any] | None = None
    usage_error: str | None = None  # a usage report that cannot be trusted: settled at the held amount
    error: str | None = None
    fail_reason: str = "upstream_failed"
    # What the upstream says the task cost, in the channel's upstream_cost_unit (shared/upstream_cost.py);
    # a figure that cannot be believed is left out and its rejection's reason given instead.
    upstream_cost: Decimal | None = None
    upstream_cost_rejected: str | None = None


@dataclass(frozen=True)
class Webhook:
    """A webhook to act on: `delivery_id` names the delivery (a replay repeats it). Without an
    `observation` (an unsigned webhook, which cannot be believed) it only says that the task has
    news: the provider is asked about the task."""
    delivery_id: str
    upstream_task_id: str
    observation: Observation | None = None


@dataclass(frozen=True)
class UpstreamContext:
    """How to reach upstreams from this process."""
    http: httpx.AsyncClient
    settings: CustomPassSettings
    caller: UpstreamCaller | None = None  # who the request is for, when someone is behind it
    webhook_url: str | None = None  # where the upstream should report completion, when it can


@dataclass(frozen=True)
class Quote:
    """The hold for a new task; `accepted` when pricing it already made the upstream take it."""
    amount: int
    accepted: Submitted | None = None


class StatusProvider(Protocol):
    kind: str
    # Most tasks one status query may ask about; None: as many as the channel's batch_size.
    max_batch: int | None

    async def quote(self, ctx: UpstreamContext, channel: Channel, model: str, body: bytes,
                    query: str) -> Quote: ...

    async def submit(self, ctx: UpstreamContext, channel: Channel, model: str, body: bytes,
                     query: str) -> Submitted: ...

    async def query(self, ctx: UpstreamContext, channel: Channel,
                    tasks: list[Task]) -> dict[str, Observation]:
        """Observations by our task id; a task the upstream did not report on is left out."""

    async def cancel(self, ctx: UpstreamContext, channel: Channel, task: Task) -> Observation: ...

    def read_webhook(self, channel: Channel, headers: dict[str, str], body: bytes,
                     tolerance_s: float) -> Webhook: ...


@dataclass(frozen=True)
class SyncAnswer:
    """The upstream's answer to a sync call, its headers in. `envelope`: the whole answer judged
    (its body read, and kept on `response`); None for an event stream, left unread for the relay,
    which closes it. `call`: how it was reached, the relay reads the stream through its transport
    errors and timeout."""
    response: httpx.Response
    envelope: Envelope | None
    call: UpstreamCall


@dataclass(frozen=True)
class SyncQuote:
    """The hold for a new sync call; `answer` when pricing it already got the real result."""
    amount: int
    answer: SyncAnswer | None = None


class SyncProvider(Protocol):
    kind: str

    def timeout_s(self, ctx: UpstreamContext, channel: Channel) -> float:
        """Longest one call on `channel` waits for the upstream's answer."""

    async def quote(self, ctx: UpstreamContext, channel: Channel, model: str, body: bytes,
                    query: str) -> SyncQuote: ...

    async def call(self, ctx: UpstreamContext, channel: Channel, model: str, body: bytes,
                   query: str) -> SyncAnswer: ...
