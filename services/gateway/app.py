"""The gateway process: FastAPI app, Kafka publisher and billing reply reader."""
from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from services.gateway.api_docs import install_api_docs
from services.gateway.billing_client import BillingClient
from services.gateway.body_limits import BodyLimitMiddleware, BodyLimits
from shared.channels import ChannelRepository
from shared.config_cache import ConfigCache
from services.gateway.console import install_console
from services.gateway.container import Container
from services.gateway.errors import install_error_handlers
from services.gateway.stream_slots import StreamSlots
from services.gateway.groups import GroupRepository
from services.gateway.internal_errors import InternalErrorMiddleware
from services.gateway.hold_queue import HoldQueue
from services.gateway.in_process_holds import InProcessHolds
from services.gateway.key_policies import KeyPolicies
from services.gateway.openapi_document import install_openapi_document
from services.gateway.routes import (admin_channels, admin_groups, admin_logs, admin_reconciliation,
                                     admin_reviews, admin_task_types, admin_users, admin_webhooks,
                                     admin_worker_tokens, dispatch, key_usage, models, pages, pass_async, pass_sync,
                                     stored_results, task_api_endpoints, task_api_pages, task_lookup, tasks, wallet,
                                     webhooks, worker_socket)
from services.gateway.request_log import RequestLogMiddleware
from services.gateway.security_headers import SecurityHeadersMiddleware
from services.gateway.settings import GatewaySettings
from services.gateway.task_api.errors import in_envelope_of
from services.gateway.task_watch import TaskWatch
from shared.users import UserRepository
from services.gateway.webhook_receipts import WebhookReceipts
from services.gateway.workers.hub import WorkerHub
from services.gateway.workers.queue import WorkQueue
from services.gateway.workers.signals import DispatchSignals
from services.gateway.workers.registry import WorkerRegistry
from services.gateway.workers.revocation import TokenRevocation
from services.gateway.workers.tokens import WorkerTokenRepository
from shared.kafka import start_broker
from shared.ledger import Ledger
from shared.ops import service_app
from shared.outbound_urls import OutboundUrlPolicy, outbound_client
from shared.result_storage.copier import ResultCopier
from shared.runtime import service_runtime
from shared.tasks import TaskStore
from shared.tracing.http_spans import ServerSpans
from shared.upstream.transport import upstream_client


def create_app(settings: GatewaySettings) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        outbound_urls = OutboundUrlPolicy.from_setting(settings.outbound_url_allowlist)
        # `http` reaches the channels' admin-set upstreams; `outbound` reaches what callers and
        # upstreams name (result files), judged by the outbound-URL policy at each connection.
        async with service_runtime(settings, "gateway") as runtime, upstream_client(max_connections=500) as http, \
                outbound_client(outbound_urls) as outbound:
            await start_broker(runtime.broker)
            via_billing = settings.hold_placement == "billing"
            # Only holds asked of billing take turns (HOLD_MAX_IN_FLIGHT); top-ups never do.
            billing = BillingClient(settings, runtime.publisher, timeout=settings.hold_reply_timeout_s,
                                    hold_queue=HoldQueue(settings.hold_max_in_flight, settings.hold_queue_wait_s)
                                    if via_billing else None)
            await billing.start()
            db = runtime.db
            tasks = TaskStore(db)
            config = ConfigCache(settings.config_cache_ttl_s)
            # The users cache of authentication: a hold reads the user's standing through it too.
            ledger = Ledger(db, lease_s=settings.ledger_lease_s, users=config)
            holds = billing if via_billing else InProcessHolds(
                ledger, max_batch=settings.hold_batch_max, timeout_s=settings.hold_reply_timeout_s)
            worker_tokens = WorkerTokenRepository(db)
            workers = WorkerHub(tasks, runtime.publisher, WorkQueue(db),
                                WorkerRegistry(db, settings.instance_id, settings.worker_stale_s),
                                TokenRevocation(worker_tokens),
                                stale_queue_entry_ms=settings.min_task_timeout_ms)
            container = Container(settings=settings, db=db, publisher=runtime.publisher, billing=billing, holds=holds,
                                  users=UserRepository(db, config), channels=ChannelRepository(db, config),
                                  groups=GroupRepository(db, config), ledger=ledger, tasks=tasks,
                                  policies=KeyPolicies(db), http=http, workers=workers,
                                  worker_tokens=worker_tokens, results=ResultCopier(outbound, settings),
                                  webhook_receipts=WebhookReceipts(db), outbound_urls=outbound_urls,
                                  watch=TaskWatch(tasks), event_streams=StreamSlots(settings.event_streams_per_key))
            for store in (container.tasks, container.users, container.channels, container.ledger,
                          container.worker_tokens, container.webhook_receipts, workers.queue, workers.registry):
                await store.ensure_indexes()
            runtime.every(settings.dispatch_poll_s, workers.look_for_results, "worker results")
            runtime.every(settings.dispatch_recheck_s, workers.recheck, "worker queue recheck")
            signals = DispatchSignals(settings, runtime.publisher.producer, workers.woken, workers.heard_revoked)
            await signals.start()
            runtime.every(settings.task_watch_poll_s, container.watch.look, "task watch")
            runtime.every(settings.worker_heartbeat_s, workers.heartbeat, "worker heartbeat")
            runtime.every(settings.worker_token_recheck_s, workers.close_revoked, "worker token recheck")
            runtime.every(settings.webhook_receipt_purge_interval_s,
                          lambda: container.webhook_receipts.purge_older_than(settings.webhook_receipt_retention_s),
                          "webhook receipt purge")
            app.state.container = container
            app.state.ready_checks = runtime.ready_checks()
            try:
                yield
            finally:
                await container.background.drain(settings.shutdown_drain_s)
                await workers.stop()
                await signals.stop()
                await billing.stop()

    app = service_app("CustomPass gateway", lifespan)
    install_error_handlers(app)
    install_api_docs(app)
    install_openapi_document(app)
    # A request is matched against the included routers in this order, and each one it passes
    # costs (FastAPI walks its routes: about 0.4 ms of CPU for 36 routers), so the paths every task
    # takes come first, then the rest of the client API, the admin API, and the console last; no
    # path of one router matches another's. pass_sync's catch-all `POST /pass/{model:path}` comes
    # after pass_async, which it would otherwise take `/pass/{model}/submit` and
    # `/pass/{model}/task/list-by-condition` from; task_api_endpoints' `GET /api/task/list` comes
    # before task_lookup's `GET /api/task/{task_id}`.
    for module in (pass_async, pass_sync, dispatch, task_api_endpoints, task_lookup, worker_socket, webhooks,
                   stored_results, wallet, key_usage, models, tasks, pages, task_api_pages,
                   admin_users, admin_groups, admin_channels, admin_logs, admin_reconciliation, admin_reviews,
                   admin_webhooks, admin_worker_tokens, admin_task_types):
        app.include_router(module.router)
    install_console(app)
    app.add_middleware(InternalErrorMiddleware)  # innermost: an unhandled error is a 500 every other one sees
    app.add_middleware(BodyLimitMiddleware, dialect=in_envelope_of, limits=BodyLimits(
        default_max_bytes=settings.request_body_max_bytes, json_max_depth=settings.json_max_depth,
        by_prefix=(("/pass/", settings.pass_body_max_bytes),)))
    app.add_middleware(RequestLogMiddleware)  # outside the others: it logs and counts the status they answered
    # Added last, so outermost: every answer carries them, those of the other middlewares too.
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(ServerSpans)  # outermost of all: the request's span covers every other one's work
    return app
