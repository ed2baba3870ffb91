"""Upstream webhooks: believe only what the channel's provider authenticates, take each delivery
once, answer at once and apply the news in the background (docs/architecture.md, flow 4).

A delivery is recorded (`webhook_receipts.py`, keyed by channel and delivery id) before it is
applied, so a replay or the upstream's retry of a delivery already taken changes nothing; if
applying fails the record is removed, so the upstream's retry gets another chance. Whatever a lost
webhook would have said, the poller still learns by polling: webhooks only make it sooner.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx

from services.gateway.background import BackgroundWork
from services.gateway.errors import NotFound, Unauthorized
from services.gateway.settings import GatewaySettings
from services.gateway.webhook_receipts import WebhookReceipts
from shared.channels import Channel, ChannelRepository
from shared.kafka import EventPublisher
from shared.providers.base import StatusProvider, Unsupported, UpstreamContext, Webhook, WebhookRejected
from shared.providers.observations import apply_observation
from shared.providers.registry import provider_for
from shared.result_storage.copier import ResultCopier
from shared.task_record import Task
from shared.tasks import TaskStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebhookIntake:
    """The upstream webhook use case, given what it uses (`Container.webhook_intake` names them)."""
    settings: GatewaySettings
    channels: ChannelRepository
    tasks: TaskStore
    publisher: EventPublisher
    results: ResultCopier
    receipts: WebhookReceipts
    http: httpx.AsyncClient
    background: BackgroundWork  # the news is applied after the upstream has its answer

    async def take(self, kind: str, channel_id: str, task_id: str, headers: dict[str, str], body: bytes) -> bool:
        """True when the delivery is new (its news is being applied), False for a repeat."""
        channel = await self.channels.get(channel_id)
        provider = provider_for(kind)
        if channel is None or channel.kind != kind or provider is None:
            raise NotFound(f"no {kind} channel {channel_id}", code="channel_not_found")
        try:
            webhook = provider.read_webhook(channel, headers, body, self.settings.webhook_tolerance_s)
        except Unsupported:
            raise NotFound(f"{kind} channels take no webhooks", code="webhooks_not_supported") from None
        except WebhookRejected as exc:
            raise Unauthorized(str(exc), code="invalid_webhook") from None
        task = await self.tasks.record(task_id)
        if task is None or task.channel_id != channel_id or task.upstream_task_id != webhook.upstream_task_id:
            raise NotFound(f"task {task_id} is not this upstream task", code="task_not_found")
        receipt_id = f"{channel_id}:{webhook.delivery_id}"
        if not await self.receipts.take(receipt_id, task_id):
            return False
        self.background.start(self._apply(provider, channel, task, webhook, receipt_id), name=f"webhook {receipt_id}")
        return True

    async def _apply(self, provider: StatusProvider, channel: Channel, task: Task,
                     webhook: Webhook, receipt_id: str) -> None:
        try:
            observation = webhook.observation
            if observation is None:
                ctx = UpstreamContext(http=self.http, settings=self.settings)
                observation = (await provider.query(ctx, channel, [task])).get(task.id)
            if observation is not None:
                await apply_observation(self.tasks, self.publisher, self.results, channel, task, observation)
        except Exception:
            log.exception("webhook not applied; the upstream's retry or the poller will",
                          extra={"task_id": task.id})
            await self.receipts.forget(receipt_id)
            raise
