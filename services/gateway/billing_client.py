"""Request/reply with the billing service over Kafka.

FastStream's `KafkaBroker.request()` only works in its test client, so the gateway has its own:
a request is published to billing's request topic; billing answers on its fact topics
(`billing.hold.placed|rejected`, `billing.topup.applied`), which every gateway instance reads
with a plain consumer assigned to all partitions from their end (no consumer group: each
instance sees every reply and wakes only its own waiters, found by hold / operation id).

A request unanswered within `timeout` raises `BillingUnavailable`. The caller then voids the
hold, which cancels it if billing has not placed it yet, so a late reply never leaves money held.
Hold requests take turns (`hold_queue`), so a burst waits here instead of timing out at billing.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from aiokafka import AIOKafkaConsumer, ConsumerRecord

from services.gateway import metrics
from services.gateway.errors import BillingUnavailable
from services.gateway.hold_queue import HoldQueue
from shared import topics
from shared.events import HoldRequested, TopupRequested
from shared.kafka import EventPublisher, FetchPace, PublishFailed, tail_consumer
from shared.ledger import HoldOutcome
from shared.settings import CommonSettings
from shared.tracing.messages import consuming

log = logging.getLogger(__name__)


class BillingClient:
    def __init__(self, settings: CommonSettings, publisher: EventPublisher, timeout: float,
                 hold_queue: HoldQueue | None = None) -> None:
        """`hold_queue`: None sends every hold at once (a test's own client, or a gateway that
        places holds itself and asks billing for none)."""
        self._settings = settings
        self._publisher = publisher
        self._timeout = timeout
        self._hold_queue = hold_queue
        self._waiters: dict[str, asyncio.Future[dict]] = {}
        self._consumer: AIOKafkaConsumer | None = None
        self._reader: asyncio.Task | None = None
        self._pace = FetchPace()
        self._pacer: asyncio.Task | None = None

    async def start(self) -> None:
        # From the ends, resolved before any request is sent: no reply to it can be missed.
        consumer = await tail_consumer(self._settings, topics.BILLING_REPLY_TOPICS, self._pace.wait_ms)
        self._consumer = consumer
        self._pace.attach(consumer)
        self._reader = asyncio.create_task(self._read_replies())
        self._pacer = asyncio.create_task(self._pace.run())

    async def stop(self) -> None:
        for task in (self._reader, self._pacer):
            if task:
                task.cancel()
        if self._consumer:
            await self._consumer.stop()

    async def hold(self, hold_id: str, user_id: str, amount: int, task_id: str, *, key_id: str | None = None,
                   key_quota: int | None = None) -> HoldOutcome:
        request = HoldRequested(correlation_id=task_id, hold_id=hold_id, user_id=user_id, amount=amount,
                                key_id=key_id, key_quota=key_quota)
        async with self._hold_queue.turn() if self._hold_queue else contextlib.nullcontext():
            with metrics.HOLD_REPLY_SECONDS.time():
                reply = await self._request(hold_id, request)
        return HoldOutcome(hold_id, placed=reply["type"] == topics.HOLD_PLACED, amount=int(reply["amount"]),
                           reason=reply.get("reason"))

    async def topup(self, op_id: str, user_id: str, amount: int) -> dict:
        return await self._request(op_id, TopupRequested(correlation_id=user_id, op_id=op_id,
                                                         user_id=user_id, amount=amount))

    async def _request(self, waiter_id: str, request: HoldRequested | TopupRequested) -> dict:
        # Concurrent requests with one id (retries of one task or top-up) share one waiter.
        future = self._waiters.get(waiter_id)
        if future is None:
            future = self._waiters[waiter_id] = asyncio.get_running_loop().create_future()
        try:
            self._pace.busy()  # the reply comes within a fetch wait or two
            await self._publisher.publish(request)
            return await asyncio.wait_for(asyncio.shield(future), self._timeout)
        except (asyncio.TimeoutError, OSError, PublishFailed) as exc:
            metrics.BILLING_TIMEOUTS.inc()
            raise BillingUnavailable("billing did not answer in time; retry with the same id") from exc
        finally:
            if self._waiters.get(waiter_id) is future:  # a later request may own a newer waiter
                del self._waiters[waiter_id]

    async def _read_replies(self) -> None:
        assert self._consumer is not None
        while True:
            batches = await self._consumer.getmany(timeout_ms=1000)
            for records in batches.values():
                for record in records:
                    self._resolve(record)

    def _resolve(self, record: ConsumerRecord) -> None:
        try:
            reply = json.loads(record.value)
        except ValueError:
            log.warning("unreadable billing reply ignored")
            return
        future = self._waiters.get(reply.get("hold_id") or reply.get("op_id") or "")
        if future is not None and not future.done():
            with consuming((record,), [reply]):  # only the gateway that waits for it: its trace's step
                future.set_result(reply)

