"""The poller process: sweeps due tasks every tick; several pollers share work through leases."""
from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI

from services.poller.late_watch import LateWatches
from services.poller.settings import PollerSettings
from services.poller.sweep import Sweeper
from shared.ops import service_app
from shared.outbound_urls import OutboundUrlPolicy, outbound_client
from shared.runtime import service_runtime
from shared.tasks import TaskStore

log = logging.getLogger(__name__)


def create_app(settings: PollerSettings) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        outbound_urls = OutboundUrlPolicy.from_setting(settings.outbound_url_allowlist)
        async with service_runtime(settings, "poller") as runtime, httpx.AsyncClient(
                limits=httpx.Limits(max_connections=settings.custom_pass_max_concurrent * 2)) as http, \
                outbound_client(outbound_urls) as outbound:
            tasks = TaskStore(runtime.db)
            await tasks.ensure_indexes()
            late_watches = LateWatches(runtime.db)
            await late_watches.ensure_indexes()
            sweeper = Sweeper(tasks, runtime.db["channels"], runtime.publisher, http, settings, outbound=outbound,
                              late_watches=late_watches)
            await runtime.broker.start()
            runtime.every(settings.poll_tick_s, lambda: _sweep(sweeper), "poller sweep")
            runtime.every(settings.late_watch_tick_s, lambda: _sweep_late(sweeper), "late watch")
            app.state.ready_checks = runtime.ready_checks()
            yield

    return service_app("CustomPass poller", lifespan)


async def _sweep(sweeper: Sweeper) -> None:
    report = await sweeper.sweep()
    if report.total:
        log.info("sweep", extra={"report": report.as_dict()})


async def _sweep_late(sweeper: Sweeper) -> None:
    recorded = await sweeper.sweep_late()
    if recorded:
        log.info("late results recorded", extra={"count": recorded})
