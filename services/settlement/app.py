"""The settlement process."""
from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from services.settlement.settings import SettlementSettings
from shared import mongo
from shared.kafka import ensure_topics, make_broker
from shared.ops import router as ops_router


def create_app(settings: SettlementSettings) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client, db = mongo.connect(settings)
        await ensure_topics(settings)
        broker = make_broker(settings, client_id=f"settlement-{settings.instance_id}")
        await broker.start()
        app.state.ready_checks = {"mongo": lambda: mongo.ping(db), "kafka": lambda: broker.ping(2.0)}
        try:
            yield
        finally:
            await broker.stop()
            await client.close()

    app = FastAPI(title="CustomPass settlement", lifespan=lifespan)
    app.include_router(ops_router)
    return app
