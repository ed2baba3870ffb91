"""The settlement process: consumes task status changes, settles terminal tasks, and sweeps
for terminal tasks whose event never arrived."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI

from services.settlement import metrics
from services.settlement.callbacks import Callbacks
from services.settlement.settings import SettlementSettings
from services.settlement.settle import Settler
from shared import mongo, topics
from shared.events import TaskStatusChanged
from shared.kafka import EventPublisher, consumer_options, ensure_topics, make_broker
from shared.ledger import Ledger
from shared.ops import router as ops_router
from shared.tasks import TaskStore

log = logging.getLogger(__name__)


def create_app(settings: SettlementSettings) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client, db = mongo.connect(settings)
        await ensure_topics(settings)
        broker = make_broker(settings, client_id=f"settlement-{settings.instance_id}")
        tasks = TaskStore(db)
        ledger = Ledger(db)
        await ledger.ensure_indexes()
        http = httpx.AsyncClient()
        callbacks = Callbacks(tasks, http, settings.callback_signing_secret, settings.callback_attempts,
                              settings.callback_timeout_s)
        settler = Settler(db, tasks, ledger, EventPublisher(broker, settings, f"settlement/{settings.instance_id}"),
                          callbacks)

        @broker.subscriber(topics.qualified(topics.TASK_STATUS_CHANGED, settings.kafka_topic_prefix),
                           batch=True, max_records=200,
                           **consumer_options(settings, "settlement", latency_critical=False))
        async def on_status_changed(events: list[TaskStatusChanged]) -> None:
            terminal = {e.task_id for e in events if e.status.is_terminal}
            await asyncio.gather(*(settler.settle(task_id) for task_id in terminal))

        await broker.start()
        sweeper = asyncio.create_task(_reconcile_forever(settler, tasks, settings))
        app.state.ready_checks = {"mongo": lambda: mongo.ping(db), "kafka": lambda: broker.ping(2.0)}
        try:
            yield
        finally:
            sweeper.cancel()
            await broker.stop()
            await callbacks.close()
            await http.aclose()
            await client.close()

    app = FastAPI(title="CustomPass settlement", lifespan=lifespan)
    app.include_router(ops_router)
    return app


async def _reconcile_forever(settler: Settler, tasks: TaskStore, settings: SettlementSettings) -> None:
    while True:
        await asyncio.sleep(settings.reconcile_interval_s)
        try:
            for task in await tasks.unsettled_terminal(settings.reconcile_after_s, limit=500):
                if await settler.settle(task["_id"]):
                    metrics.RECONCILED.inc()
                    log.info("settled by reconciliation", extra={"task_id": task["_id"]})
        except Exception:
            log.exception("reconciliation sweep failed; retrying next interval")
