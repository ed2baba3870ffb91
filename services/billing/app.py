"""The billing process: Kafka consumers for holds and top-ups, a recovery sweep, ops endpoints."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI

from services.billing import handlers, metrics
from services.billing.settings import BillingSettings
from shared import topics
from shared.events import HoldRequested, TopupRequested
from shared.config_cache import ConfigCache
from shared.kafka import FetchPace, consumer_options, start_broker
from shared.ledger import Ledger
from shared.ops import service_app
from shared.runtime import service_runtime

log = logging.getLogger(__name__)


def create_app(settings: BillingSettings) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with service_runtime(settings, "billing") as runtime:
            ledger = Ledger(runtime.db, lease_s=settings.ledger_lease_s,
                            users=ConfigCache(settings.config_cache_ttl_s))
            await ledger.ensure_indexes()
            publisher = runtime.publisher

            def subscriber(topic: str, group: str):
                return runtime.broker.subscriber(
                    topics.qualified(topic, settings.kafka_topic_prefix), batch=True,
                    max_records=settings.billing_batch_size,
                    **consumer_options(settings, group))

            pace = FetchPace()  # both consumers answer a gateway waiting on the reply

            @subscriber(topics.HOLD_REQUESTED, "billing.holds")
            async def on_hold_requests(requests: list[HoldRequested]) -> None:
                pace.busy()
                await handlers.handle_batch(handlers.place_holds, requests, ledger, publisher)

            @subscriber(topics.TOPUP_REQUESTED, "billing.topups")
            async def on_topup_requests(requests: list[TopupRequested]) -> None:
                pace.busy()
                await handlers.handle_batch(handlers.apply_topups, requests, ledger, publisher)

            await start_broker(runtime.broker)
            for started in runtime.broker.subscribers:
                pace.attach(started.consumer)
            runtime.loops.append(asyncio.create_task(pace.run(), name="fetch pace"))
            runtime.report_consumer_lag()
            runtime.every(settings.recovery_interval_s, lambda: _recover(ledger), "billing recovery")
            runtime.every(30.0, lambda: _count_stale_holds(ledger, settings.stale_hold_after_s), "stale holds")
            app.state.ready_checks = runtime.ready_checks()
            yield

    return service_app("CustomPass billing", lifespan)


async def _recover(ledger: Ledger) -> None:
    resumed = await ledger.recover()
    if resumed:
        metrics.RECOVERED.inc(resumed)
        log.info("resumed stuck operations", extra={"count": resumed})


async def _count_stale_holds(ledger: Ledger, after_s: float) -> None:
    metrics.STALE_HOLDS.set(await ledger.count_holds_open_since(after_s))
