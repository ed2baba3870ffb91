"""Opening a billable task, whichever API asked for it: find the channel, price the hold, store
the task document, then hold its amount (docs/architecture.md, flow 1-2).

The caller's key policies admitted the request first (`key_policies`); storing a task needs
that `Admission`. The task document exists before any money moves, so a crash at any later step
leaves something the poller or settlement will finish: a task never completed fails once its
`next_poll_at` has passed and its hold is voided (a void also cancels a hold not placed yet).
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import bson

from services.gateway.errors import ApiError, BillingUnavailable, BodyTooLarge, InvalidRequest, NotFound, hold_rejected
from services.gateway.groups import price_ratio
from services.gateway.key_policies import Admission, KeyPolicies
from services.gateway.routing.failover import Served
from services.gateway.routing.selection import ready_in_order, upstream_model
from shared.channels import SUBMIT_SUFFIX, Channel, ChannelRepository
from shared.clock import stamp, stamp_in
from shared.crash_points import crash_point
from shared.ids import hold_id_for
from shared.kafka import EventPublisher
from shared.ledger import HoldOutcome
from shared.providers.base import InvalidBody
from shared.settlement_review import guardrails_of
from shared.status import TaskStatus
from shared.task_events import fail_and_announce
from shared.task_record import Task
from shared.tasks import TaskStore
from shared.upstream.errors import UpstreamError

if TYPE_CHECKING:  # deps wires the container, which holds a TaskOpener: only a type here
    from services.gateway.deps import CallerIdentity

# MongoDB refuses documents over 16 MiB; a task keeps 1 MiB of room for what it gathers later
# (its result, usage, errors). A body within the size limit can still exceed this once stored:
# bytes that are not UTF-8 are kept as U+FFFD, three bytes each.
MAX_TASK_DOCUMENT_BYTES = 15 << 20


async def channels_for(channels: ChannelRepository, caller: CallerIdentity, model: str,
                       kinds: tuple[str, ...]) -> list[Channel]:
    """The channels a request for `model` tries, in order (`routing.selection`), priced for the
    caller's group."""
    serving = await channels.serving(model, kinds)
    if not serving:
        raise NotFound(f"model {model} is not served here", code="model_not_found")
    ready = ready_in_order(serving, stamp())
    if not ready:
        raise ApiError(f"every channel serving {model} is cooling down after failures; retry later",
                       code="channels_cooling_down", status=503)
    ratio = price_ratio(caller.group)
    return [channel.priced(ratio) for channel in ready]


def new_task(task_id: str, caller: CallerIdentity, channel: Channel, model: str, body: bytes,
             query: str, amount: int, *, mode: str, callback_url: str | None = None) -> Task:
    """A new task of `pass` on `channel`, holding `amount`, not stored yet (`store_and_hold`).
    `callback_url`: one `caller_urls.accepted_callback_url` passed."""
    now = stamp()
    return Task(
        id=task_id, user_id=caller.user_id, key_id=caller.key_id, model=model,
        upstream_model=upstream_model(channel, model.removesuffix(SUBMIT_SUFFIX)),
        channel_id=channel.id, channel_kind=channel.kind, mode=mode, api="pass",
        status=TaskStatus.NOT_START, progress="0%",
        request={"body": body.decode("utf-8", "replace"), "query": query}, callback_url=callback_url,
        hold_id=hold_id_for(task_id), hold_amount=amount,
        billing=dict(channel.billing), guardrails=guardrails_of(channel),
        task_lifetime_s=channel.task_lifetime_s, created_at=now, updated_at=now)


class HoldPlacer(Protocol):
    """Who decides a hold (`HOLD_PLACEMENT`): this gateway through the ledger
    (in_process_holds.InProcessHolds), or billing over Kafka (billing_client.BillingClient).
    Both raise `BillingUnavailable` when no decision came in time."""
    async def hold(self, hold_id: str, user_id: str, amount: int, task_id: str, *, key_id: str | None = None,
                   key_quota: int | None = None) -> HoldOutcome: ...


@dataclass(frozen=True)
class TaskOpener:
    """What storing a task and holding its amount takes, and nothing more."""
    policies: KeyPolicies
    tasks: TaskStore
    holds: HoldPlacer
    publisher: EventPublisher

    async def store_and_hold(self, task: Task, admission: Admission, unfinished_after_s: float) -> None:
        """Takes the task's in-flight slots, stores the task, then places its hold within the key's
        quota limit. A rejected hold leaves no task (and no slot) behind; a hold not decided in time
        fails the task, which voids whatever may still be placed. A task too large to
        store is refused before anything is taken.

        `unfinished_after_s`: when the poller may take the task up and fail it if nobody has
        moved it on by then (its submit, or for a sync call the call itself, never completed)."""
        if len(bson.encode(task.to_document())) > MAX_TASK_DOCUMENT_BYTES:
            raise BodyTooLarge("this request is too large to be stored as a task")
        assert task.hold_id is not None, "new_task gives every task its hold"
        await self.policies.occupy(admission, task.id)
        await self.tasks.insert(task, next_poll_at=stamp_in(unfinished_after_s))
        try:
            decision = await self.holds.hold(task.hold_id, task.user_id, task.hold_amount, task.id,
                                               key_id=admission.key_id, key_quota=admission.quota_limit)
        except BillingUnavailable:
            await fail_and_announce(self.tasks, self.publisher, task.id, "billing_timeout")
            raise
        if not decision.placed:
            await self.tasks.delete(task.id)
            await self.policies.vacate(admission, task.id)
            raise hold_rejected(decision.reason or "rejected")
        crash_point("gateway.hold_placed")

    async def follow_failover(self, task_id: str, served: Served[Any], model: str) -> None:
        """A task opened on its first channel but served by a later one (`routing.failover`)
        names the channel that served it, and `model` as that channel calls it."""
        if served.moved:
            await self.tasks.served_by(task_id, served.channel.id, upstream_model(served.channel, model))


def as_api_error(exc: UpstreamError) -> ApiError:
    """Upstream refusals keep the upstream's own code; transport failures get ours."""
    return ApiError(exc.message, code=exc.code, status=exc.http_status)


@contextlib.contextmanager
def quote_refusals() -> Iterator[None]:
    """A provider's refusal while it prices the hold, before any task or money exists: just the
    caller's answer (a body the upstream cannot take is a 400 invalid_request)."""
    try:
        yield
    except InvalidBody as exc:
        raise InvalidRequest(str(exc)) from None
    except UpstreamError as exc:
        raise as_api_error(exc) from exc
