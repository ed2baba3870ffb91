"""What every service process holds: its MongoDB client, its Kafka broker and publisher, its
background loops, and the readiness checks over them. One place for start-up and shutdown."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from faststream.kafka import KafkaBroker
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from shared import mongo
from shared.consumer_lag import record_consumer_lag
from shared.kafka import EventPublisher, ensure_topics, make_broker
from shared.settings import CommonSettings

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: CommonSettings
    client: AsyncMongoClient
    db: AsyncDatabase
    broker: KafkaBroker
    publisher: EventPublisher
    loops: list[asyncio.Task] = field(default_factory=list)

    def ready_checks(self) -> dict[str, Callable[[], Awaitable[object]]]:
        return {"mongo": lambda: mongo.ping(self.db), "kafka": lambda: self.broker.ping(2.0)}

    def every(self, interval_s: float, job: Callable[[], Awaitable[object]], name: str) -> None:
        """Runs `job` every `interval_s` until shutdown; a failing run is logged and retried."""
        async def loop() -> None:
            while True:
                try:
                    await job()
                except Exception:
                    log.exception("%s failed; retrying next interval", name)
                await asyncio.sleep(interval_s)
        self.loops.append(asyncio.create_task(loop(), name=name))

    def report_consumer_lag(self, interval_s: float = 5.0) -> None:
        """Keeps `custompass_kafka_consumer_lag_messages` current for this process's consumer groups."""
        self.every(interval_s, lambda: record_consumer_lag(self.broker, self.settings.kafka_topic_prefix),
                   "consumer lag")


@contextlib.asynccontextmanager
async def service_runtime(settings: CommonSettings, service: str) -> AsyncIterator[Runtime]:
    """Connects; the caller registers subscribers, then starts the broker. Everything stops on exit."""
    client, db = mongo.connect(settings)
    await ensure_topics(settings)
    broker = make_broker(settings, client_id=f"{service}-{settings.instance_id}")
    runtime = Runtime(settings, client, db, broker,
                      EventPublisher(broker, settings, producer=f"{service}/{settings.instance_id}"))
    try:
        yield runtime
    finally:
        for task in runtime.loops:
            task.cancel()
        await asyncio.gather(*runtime.loops, return_exceptions=True)
        await broker.stop()
        await client.close()
