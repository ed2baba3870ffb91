"""The gateway's dependencies, wired once in the app's lifespan and reached through `deps`. A use
case is given only what it uses: a property here builds it from these (`opener`, `submission`)."""
from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from pymongo.asynchronous.database import AsyncDatabase

from services.gateway.async_submit import AsyncSubmission
from services.gateway.background import BackgroundWork
from services.gateway.billing_client import BillingClient
from services.gateway.dispatch_submit import Submission
from services.gateway.event_streams import TaskEventStreams
from services.gateway.stream_slots import StreamSlots
from services.gateway.task_opening import HoldPlacer, TaskOpener
from services.gateway.groups import GroupRepository
from services.gateway.key_policies import KeyPolicies
from services.gateway.settings import GatewaySettings
from services.gateway.sync_pass import SyncPass
from services.gateway.task_api.creation import TypedTaskCreation
from services.gateway.task_api.task_types import TaskTypeRepository
from services.gateway.task_cancel import Cancellation
from services.gateway.task_watch import TaskWatch
from shared.users import UserRepository
from services.gateway.webhook_intake import WebhookIntake
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
    billing: BillingClient  # top-ups, and holds when HOLD_PLACEMENT=billing
    holds: HoldPlacer
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
        return TaskOpener(self.policies, self.tasks, self.holds, self.publisher)

    @property
    def submission(self) -> Submission:
        """Worker dispatch (`POST /api/openai`)."""
        return Submission(settings=self.settings, outbound_urls=self.outbound_urls, channels=self.channels,
                          policies=self.policies, opener=self.opener, tasks=self.tasks, publisher=self.publisher,
                          workers=self.workers, db=self.db)

    @property
    def async_submission(self) -> AsyncSubmission:
        """Async submits (`POST /pass/{model}/submit`, `POST /api/task/create`)."""
        return AsyncSubmission(settings=self.settings, outbound_urls=self.outbound_urls, channels=self.channels,
                               policies=self.policies, opener=self.opener, tasks=self.tasks,
                               publisher=self.publisher, http=self.http, db=self.db, background=self.background)

    @property
    def sync_pass(self) -> SyncPass:
        """Sync calls (`POST /pass/{model}`)."""
        return SyncPass(settings=self.settings, outbound_urls=self.outbound_urls, channels=self.channels,
                        policies=self.policies, opener=self.opener, tasks=self.tasks, publisher=self.publisher,
                        http=self.http, background=self.background)

    @property
    def typed_task_creation(self) -> TypedTaskCreation:
        """Typed tasks (`POST /api/task/create`), submitted as async submits are."""
        return TypedTaskCreation(settings=self.settings, outbound_urls=self.outbound_urls,
                                 task_types=TaskTypeRepository(self.db), submission=self.async_submission)

    @property
    def cancellation(self) -> Cancellation:
        """A caller cancelling their task (`POST /pass/{model}/task/{id}/cancel`)."""
        return Cancellation(settings=self.settings, channels=self.channels, tasks=self.tasks,
                            publisher=self.publisher, results=self.results, http=self.http)

    @property
    def webhook_intake(self) -> WebhookIntake:
        """Upstream webhooks (`POST /webhooks/{kind}/{channel_id}`)."""
        return WebhookIntake(settings=self.settings, channels=self.channels, tasks=self.tasks,
                             publisher=self.publisher, results=self.results, receipts=self.webhook_receipts,
                             http=self.http, background=self.background)

    @property
    def task_event_streams(self) -> TaskEventStreams:
        """A task's changes as Server-Sent Events (`GET .../task/{id}/events`)."""
        return TaskEventStreams(watch=self.watch, slots=self.event_streams,
                                keepalive_s=self.settings.event_stream_keepalive_s)
