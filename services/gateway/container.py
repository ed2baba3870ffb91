"""The gateway's dependencies, wired once in the app's lifespan and reached through `deps`."""
from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from pymongo.asynchronous.database import AsyncDatabase

from services.gateway.background import BackgroundWork
from services.gateway.billing_client import BillingClient
from services.gateway.stream_slots import StreamSlots
from services.gateway.task_opening import TaskOpener
from services.gateway.groups import GroupRepository
from services.gateway.key_policies import KeyPolicies
from services.gateway.settings import GatewaySettings
from services.gateway.task_watch import TaskWatch
from services.gateway.users import UserRepository
from services.gateway.webhook_receipts import WebhookReceipts
from services.gateway.workers.hub import WorkerHub
from services.gateway.workers.tokens import WorkerTokenRepository
from shared.channels import ChannelRepository
from shared.kafka import EventPublisher
from shared.ledger import Ledger
from shared.outbound_urls import OutboundUrlPolicy
from shared.result_storage.copier import ResultCopier
from shared.tasks import TaskStore


@dataclass
class Container:
    settings: GatewaySettings
    db: AsyncDatabase
    publisher: EventPublisher
    billing: BillingClient
    users: UserRepository
    channels: ChannelRepository
    groups: GroupRepository
    ledger: Ledger
    tasks: TaskStore
    policies: KeyPolicies
    http: httpx.AsyncClient
    workers: WorkerHub
    worker_tokens: WorkerTokenRepository
    results: ResultCopier  # fetches through the outbound-URL guard (shared.outbound_urls)
    outbound_urls: OutboundUrlPolicy  # judges the URLs callers hand in (caller_urls)
    webhook_receipts: WebhookReceipts
    watch: TaskWatch  # follows tasks for waiting submits and event streams
    event_streams: StreamSlots
    background: BackgroundWork = field(default_factory=BackgroundWork)

    @property
    def opener(self) -> TaskOpener:
        """Storing a task and holding its amount, for every path that opens one."""
        return TaskOpener(self.policies, self.tasks, self.billing, self.publisher)
