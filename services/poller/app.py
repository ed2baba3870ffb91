"""The poller process: sweeps due tasks every tick; several pollers share work through leases."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI

from services.poller.settings import PollerSettings
from services.poller.sweep import Sweeper
from shared import mongo
from shared.kafka import EventPublisher, ensure_topics, make_broker
from shared.ops import router as ops_router
from shared.tasks import TaskStore

log = logging.getLogger(__name__)


def create_app(settings: PollerSettings) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client, db = mongo.connect(settings)
        await ensure_topics(settings)
        broker = make_broker(settings, client_id=f"poller-{settings.instance_id}")
        await broker.start()
        http = httpx.AsyncClient(limits=httpx.Limits(max_connections=settings.custom_pass_max_concurrent * 2))
        tasks = TaskStore(db)
        await tasks.ensure_indexes()
        sweeper = Sweeper(tasks, db["channels"], EventPublisher(broker, settings, f"poller/{settings.instance_id}"),
                          http, settings)
        loop = asyncio.create_task(_sweep_forever(sweeper, settings.poll_tick_s))
        app.state.ready_checks = {"mongo": lambda: mongo.ping(db), "kafka": lambda: broker.ping(2.0)}
        try:
            yield
        finally:
            loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loop
            await http.aclose()
            await broker.stop()
            await client.close()

    app = FastAPI(title="CustomPass poller", lifespan=lifespan)
    app.include_router(ops_router)
    return app


async def _sweep_forever(sweeper: Sweeper, tick_s: float) -> None:
    while True:
        try:
            report = await sweeper.sweep()
            if report.total:
                log.info("sweep", extra={"report": report.as_dict()})
        except Exception:
            log.exception("sweep failed; retrying next tick")
        await asyncio.sleep(tick_s)
