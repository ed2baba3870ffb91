"""Worker dispatch's news between gateway instances, over Kafka: a task queued on one gateway wakes
the idle workers of its group on the others (`dispatch.work_queued`), and a worker token revoked
through one gateway's admin API closes its sockets on the others (`dispatch.worker_token_revoked`).
Every instance reads both topics from their ends, in no consumer group, so each hears every signal
published after it started, within a fetch wait; its own signals it has acted on already.

A signal is a wake-up, not the record: the queue and the tokens live in MongoDB, and a lost signal
(a failed publish, a gateway restarting) is covered by the slow re-checks of the queue
(`DISPATCH_RECHECK_S`) and of the tokens (`WORKER_TOKEN_RECHECK_S`). Waiting for work this way sends
no MongoDB command; a change stream of the queue was one read a second per gateway, and re-reading
the tokens every second one more."""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer

from shared import topics
from shared.kafka import tail_consumer
from shared.settings import CommonSettings

log = logging.getLogger(__name__)

# How long a fetch waits for a signal: a gateway's idle workers hear of work queued elsewhere at
# most this late on a broker that answers a fetch only when its wait ends (the local stand-in).
SIGNAL_FETCH_WAIT_MS = 1000


class DispatchSignals:
    def __init__(self, settings: CommonSettings, producer: str, on_queued: Callable[[str], None],
                 on_revoked: Callable[[str], Awaitable[None]]) -> None:
        """`producer`: this process's publisher id; signals it published are skipped."""
        self._settings, self._producer = settings, producer
        self._on_queued, self._on_revoked = on_queued, on_revoked
        self._consumer: AIOKafkaConsumer | None = None
        self._reader: asyncio.Task | None = None

    async def start(self) -> None:
        self._consumer = await tail_consumer(self._settings, topics.DISPATCH_SIGNAL_TOPICS, SIGNAL_FETCH_WAIT_MS)
        self._reader = asyncio.create_task(self._read(), name="dispatch signals")

    async def stop(self) -> None:
        if self._reader:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        if self._consumer:
            await self._consumer.stop()

    async def _read(self) -> None:
        assert self._consumer is not None
        while True:
            batches = await self._consumer.getmany(timeout_ms=SIGNAL_FETCH_WAIT_MS)
            for records in batches.values():
                for record in records:
                    try:
                        await self.heard(json.loads(record.value))
                    except Exception:  # one bad signal must not stop the others
                        log.exception("dispatch signal on %s ignored", record.topic)

    async def heard(self, signal: dict) -> None:
        if signal.get("producer") == self._producer:
            return
        if signal.get("type") == topics.WORK_QUEUED and isinstance(signal.get("group"), str):
            self._on_queued(signal["group"])
        elif signal.get("type") == topics.WORKER_TOKEN_REVOKED and isinstance(signal.get("token_id"), str):
            await self._on_revoked(signal["token_id"])
