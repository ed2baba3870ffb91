"""Kafka wiring: the FastStream broker, topic creation, and publishing event models."""
from __future__ import annotations

import asyncio
import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker

from shared import topics
from shared.events import Event
from shared.kafka_metrics import MESSAGES_PUBLISHED, PUBLISH_FAILURES
from shared.settings import CommonSettings

log = logging.getLogger(__name__)

PARTITIONS = 4


def make_broker(settings: CommonSettings, client_id: str) -> KafkaBroker:
    # acks="all": an event counts as published only once the broker has it durably.
    return KafkaBroker(settings.kafka_bootstrap_servers, client_id=client_id, acks="all",
                       logger=logging.getLogger(f"faststream.{client_id}"), log_level=logging.DEBUG)


def consumer_options(settings: CommonSettings, group_id: str, *, latency_critical: bool) -> dict:
    """Options for a durable consumer: commits only after the handler succeeded (a failure
    seeks back, so the batch is delivered again), and on the hot request/reply path a short
    fetch wait (the default 500 ms would add ~250 ms to every round trip)."""
    return dict(
        group_id=group_id, auto_offset_reset="earliest", ack_policy=AckPolicy.NACK_ON_ERROR,
        fetch_max_wait_ms=5 if latency_critical else 100,
        session_timeout_ms=settings.kafka_session_timeout_ms,
        heartbeat_interval_ms=settings.kafka_heartbeat_interval_ms,
    )


async def ensure_topics(settings: CommonSettings) -> None:
    """Creates every topic the code uses (brokers with auto-creation off need this)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        wanted = [topics.qualified(name, settings.kafka_topic_prefix) for name in topics.ALL_TOPICS]
        existing = set(await admin.list_topics())
        missing = [NewTopic(name, PARTITIONS, 1) for name in wanted if name not in existing]
        if missing:
            try:
                await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass  # another process created them first
    finally:
        await admin.close()


class PublishFailed(Exception):
    """The broker did not take the event in time (it is down, or unreachable)."""


class EventPublisher:
    """Publishes event models to their topic, keyed by correlation id, within the publish timeout."""

    def __init__(self, broker: KafkaBroker, settings: CommonSettings, producer: str) -> None:
        self._broker = broker
        self._prefix = settings.kafka_topic_prefix
        self._producer = producer
        self._timeout_s = settings.kafka_publish_timeout_s

    def topic(self, name: str) -> str:
        return topics.qualified(name, self._prefix)

    async def publish(self, event: Event) -> None:
        if not event.producer:
            event = event.model_copy(update={"producer": self._producer})
        sending = self._broker.publish(
            event.model_dump(mode="json"), topic=self.topic(event.TOPIC),
            key=event.correlation_id.encode(), headers={"event-type": event.type},
        )
        try:
            await asyncio.wait_for(sending, self._timeout_s)
        except (asyncio.TimeoutError, KafkaError, OSError) as exc:
            PUBLISH_FAILURES.labels(event.TOPIC).inc()
            raise PublishFailed(f"{event.type} for {event.correlation_id} not published: {exc!r}") from exc
        MESSAGES_PUBLISHED.labels(event.TOPIC).inc()
