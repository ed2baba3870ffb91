"""The settlement process: consumes task status changes, settles terminal tasks, and sweeps
for terminal tasks whose event never arrived."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI

from services.settlement import metrics
from services.settlement.callbacks import Callbacks
from services.settlement.settings import SettlementSettings
from services.settlement.settle import Settler, record_progress
from shared import hourly_stats, topics
from shared.due_loop import DueLoop
from shared.events import TaskStatusChanged
from shared.kafka import consumer_options, start_broker
from shared.ledger import Ledger
from shared.ops import service_app
from shared.outbound_urls import OutboundUrlPolicy, outbound_client
from shared.runtime import service_runtime
from shared.task_receipts import TaskReceipts
from shared.tasks import TaskStore
from shared.webhook_deliveries import WebhookDeliveries

log = logging.getLogger(__name__)


def create_app(settings: SettlementSettings) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        outbound_urls = OutboundUrlPolicy.from_setting(settings.outbound_url_allowlist)
        async with service_runtime(settings, "settlement") as runtime, outbound_client(outbound_urls) as outbound:
            tasks = TaskStore(runtime.db)
            ledger = Ledger(runtime.db)
            await ledger.ensure_indexes()
            deliveries = WebhookDeliveries(runtime.db)
            await deliveries.ensure_indexes()
            await hourly_stats.ensure_indexes(runtime.db)
            callbacks = Callbacks(tasks, deliveries, outbound, legacy_secret=settings.callback_signing_secret,
                                  signing_key=settings.webhook_signing_key, attempts=settings.callback_attempts,
                                  timeout_s=settings.callback_timeout_s, retry_base_s=settings.webhook_retry_base_s,
                                  retry_cap_s=settings.webhook_retry_cap_s,
                                  receipts=TaskReceipts(ledger, signer) if (signer := settings.receipt_signer) else None)
            settler = Settler(runtime.db, tasks, ledger, runtime.publisher, deliveries)
            sends = DueLoop(callbacks.send_due, settings.webhook_send_interval_s, settings.webhook_idle_s,
                            "webhook deliveries")

            @runtime.broker.subscriber(topics.qualified(topics.TASK_STATUS_CHANGED, settings.kafka_topic_prefix),
                                       batch=True, max_records=200,
                                       **consumer_options(settings, "settlement"))
            async def on_status_changed(events: list[TaskStatusChanged]) -> None:
                terminal = {e.task_id: e for e in events if e.status.is_terminal}  # one per task
                await record_progress(deliveries, [e for e in events if not e.status.is_terminal])
                await settler.settle_changed(list(terminal.values()))
                sends.wake()  # either may have recorded deliveries

            await start_broker(runtime.broker)
            runtime.report_consumer_lag()
            runtime.loops.append(asyncio.create_task(sends.run(), name="webhook deliveries"))
            runtime.every(settings.reconcile_interval_s, lambda: _reconcile(settler, tasks, settings),
                          "settlement reconciliation")
            app.state.ready_checks = runtime.ready_checks()
            yield

    return service_app("CustomPass settlement", lifespan)


async def _reconcile(settler: Settler, tasks: TaskStore, settings: SettlementSettings) -> None:
    for task in await tasks.unsettled_terminal(settings.reconcile_after_s, limit=500):
        if await settler.settle(task.id):
            metrics.RECONCILED.inc()
            log.info("settled by reconciliation", extra={"task_id": task.id})
