"""The poller process: sweeps due tasks (shared/due_loop.py says when); several pollers
share work through leases."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI

from services.poller.late_watch import LateWatches
from services.poller.settings import PollerSettings
from services.poller.sweep import Sweeper
from shared import topics
from shared.channels import ChannelRepository
from shared.due_loop import DueLoop
from shared.events import TaskSubmitted
from shared.kafka import consumer_options, start_broker
from shared.ops import service_app
from shared.outbound_urls import OutboundUrlPolicy, outbound_client
from shared.runtime import service_runtime
from shared.tasks import TaskStore
from shared.upstream.transport import upstream_client

log = logging.getLogger(__name__)
# A wake-up only matters now (no history), and a second of delay is within a tick or two: a slow
# fetch loop costs the broker little while idle.
WAKE_CONSUMER = {"auto_offset_reset": "latest", "fetch_max_wait_ms": 1000}


def create_app(settings: PollerSettings) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        outbound_urls = OutboundUrlPolicy.from_setting(settings.outbound_url_allowlist)
        async with service_runtime(settings, "poller") as runtime, \
                upstream_client(max_connections=settings.custom_pass_max_concurrent * 2) as http, \
                outbound_client(outbound_urls) as outbound:
            tasks = TaskStore(runtime.db)
            await tasks.ensure_indexes()
            late_watches = LateWatches(runtime.db)
            await late_watches.ensure_indexes()
            sweeper = Sweeper(tasks, ChannelRepository(runtime.db), runtime.publisher, http, settings,
                              outbound=outbound, late_watches=late_watches)
            sweeps = DueLoop(lambda: _sweep(sweeper), settings.poll_tick_s, settings.poll_idle_s, "poller sweep")

            @runtime.broker.subscriber(topics.qualified(topics.TASK_SUBMITTED, settings.kafka_topic_prefix), batch=True,
                                       **{**consumer_options(settings, "poller.wakes"), **WAKE_CONSUMER})
            async def on_submitted(_: list[TaskSubmitted]) -> None:
                sweeps.wake()

            await start_broker(runtime.broker)
            runtime.loops.append(asyncio.create_task(sweeps.run(), name="poller sweep"))
            runtime.every(settings.late_watch_tick_s, lambda: _sweep_late(sweeper), "late watch")
            app.state.ready_checks = runtime.ready_checks()
            yield

    return service_app("CustomPass poller", lifespan)


async def _sweep(sweeper: Sweeper) -> str | None:
    report = await sweeper.sweep()
    if report.total:
        log.info("sweep", extra={"report": report.as_dict()})
    return report.next_due_at


async def _sweep_late(sweeper: Sweeper) -> None:
    recorded = await sweeper.sweep_late()
    if recorded:
        log.info("late results recorded", extra={"count": recorded})
