"""The gateway process: FastAPI app, Kafka publisher and billing reply reader."""
from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI, Request

from services.gateway import metrics
from services.gateway.billing_client import BillingClient
from services.gateway.channels import ChannelRepository
from services.gateway.container import Container
from services.gateway.errors import install_error_handlers
from services.gateway.routes import admin_channels, admin_logs, admin_users, pass_async, tasks, wallet
from services.gateway.settings import GatewaySettings
from services.gateway.users import UserRepository
from shared import mongo
from shared.kafka import EventPublisher, ensure_topics, make_broker
from shared.ledger import Ledger
from shared.ops import router as ops_router
from shared.tasks import TaskStore


def create_app(settings: GatewaySettings) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client, db = mongo.connect(settings)
        await ensure_topics(settings)
        broker = make_broker(settings, client_id=f"gateway-{settings.instance_id}")
        await broker.start()
        publisher = EventPublisher(broker, settings, producer=f"gateway/{settings.instance_id}")
        billing = BillingClient(settings, publisher, timeout=settings.hold_reply_timeout_s)
        await billing.start()
        container = Container(settings=settings, mongo=client, db=db, broker=broker, publisher=publisher,
                              billing=billing, users=UserRepository(db), channels=ChannelRepository(db),
                              ledger=Ledger(db), tasks=TaskStore(db),
                              http=httpx.AsyncClient(limits=httpx.Limits(max_connections=500)))
        await container.tasks.ensure_indexes()
        await container.users.ensure_indexes()
        await container.channels.ensure_indexes()
        await container.ledger.ensure_indexes()
        app.state.container = container
        app.state.ready_checks = {"mongo": lambda: mongo.ping(db), "kafka": lambda: broker.ping(2.0)}
        try:
            yield
        finally:
            await container.http.aclose()
            await billing.stop()
            await broker.stop()
            await client.close()

    app = FastAPI(title="CustomPass gateway", version="0.1.0", lifespan=lifespan)
    install_error_handlers(app)
    app.include_router(ops_router)
    for module in (admin_users, admin_channels, admin_logs, wallet, tasks, pass_async):
        app.include_router(module.router)

    @app.middleware("http")
    async def record_request(request: Request, call_next):
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        metrics.REQUESTS.labels(path, request.method, str(response.status_code)).inc()
        metrics.REQUEST_SECONDS.labels(path, request.method).observe(time.perf_counter() - started)
        return response

    return app
