"""The billing process: Kafka consumers for holds and top-ups, a recovery sweep, ops endpoints."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI

from services.billing import handlers, metrics
from services.billing.settings import BillingSettings
from shared import mongo, topics
from shared.events import HoldRequested, TopupRequested
from shared.kafka import EventPublisher, consumer_options, ensure_topics, make_broker
from shared.ledger import Ledger
from shared.ops import router as ops_router

log = logging.getLogger(__name__)


def create_app(settings: BillingSettings) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client, db = mongo.connect(settings)
        ledger = Ledger(db, lease_s=settings.ledger_lease_s)
        await ledger.ensure_indexes()
        await ensure_topics(settings)
        broker = make_broker(settings, client_id=f"billing-{settings.instance_id}")
        publisher = EventPublisher(broker, settings, producer=f"billing/{settings.instance_id}")
        qualified = lambda name: topics.qualified(name, settings.kafka_topic_prefix)  # noqa: E731
        batch = dict(batch=True, max_records=settings.billing_batch_size)

        @broker.subscriber(qualified(topics.HOLD_REQUESTED), **batch,
                           **consumer_options(settings, "billing.holds", latency_critical=True))
        async def on_hold_requests(requests: list[HoldRequested]) -> None:
            await handlers.handle_batch(handlers.place_hold, requests, ledger, publisher)

        @broker.subscriber(qualified(topics.TOPUP_REQUESTED), **batch,
                           **consumer_options(settings, "billing.topups", latency_critical=True))
        async def on_topup_requests(requests: list[TopupRequested]) -> None:
            await handlers.handle_batch(handlers.apply_topup, requests, ledger, publisher)

        await broker.start()
        sweeper = asyncio.create_task(_recovery_loop(ledger, settings.recovery_interval_s))
        app.state.ready_checks = {"mongo": lambda: mongo.ping(db), "kafka": lambda: broker.ping(2.0)}
        log.info("billing started", extra={"instance": settings.instance_id})
        try:
            yield
        finally:
            sweeper.cancel()
            await broker.stop()
            await client.close()

    app = FastAPI(title="CustomPass billing", lifespan=lifespan)
    app.include_router(ops_router)
    return app


async def _recovery_loop(ledger: Ledger, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            resumed = await ledger.recover()
        except Exception:
            log.exception("recovery sweep failed; retrying next interval")
            continue
        if resumed:
            metrics.RECOVERED.inc(resumed)
            log.info("resumed stuck operations", extra={"count": resumed})
