"""A whole provider in one module: what it takes to teach CustomPass a new upstream kind.
Its upstream answers every status query with success, two tasks per request."""
from __future__ import annotations

from shared.channels import Channel
from shared.providers.base import Observation, Quote, Submitted, Unsupported, UpstreamContext, Webhook
from shared.status import TaskStatus
from shared.task_record import Task


class TinyProvider:
    kind = "tiny"
    max_batch = 2

    async def quote(self, ctx: UpstreamContext, channel: Channel, model: str, body: bytes,
                    query: str) -> Quote:
        return Quote(0)

    async def submit(self, ctx: UpstreamContext, channel: Channel, model: str, body: bytes,
                     query: str) -> Submitted:
        return Submitted(f"tiny-{len(body)}")

    async def query(self, ctx: UpstreamContext, channel: Channel,
                    tasks: list[Task]) -> dict[str, Observation]:
        return {t.id: Observation(t.upstream_task_id, TaskStatus.SUCCESS, result={"echo": t.upstream_task_id},
                                      usage={"seconds": 2}) for t in tasks}

    async def cancel(self, ctx: UpstreamContext, channel: Channel, task: Task) -> Observation:
        raise Unsupported("tiny tasks run to the end")

    def read_webhook(self, channel: Channel, headers: dict[str, str], body: bytes,
                     tolerance_s: float) -> Webhook:
        raise Unsupported("tiny has no webhooks")
