"""Kafka wiring: the FastStream broker, topic creation, and publishing event models."""
from __future__ import annotations

import asyncio
import logging
import time

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker

from shared import topics, tracing
from shared.events import Event
from shared.kafka_metrics import MESSAGES_PUBLISHED, PUBLISH_FAILURES
from shared.settings import CommonSettings
from shared.tracing.messages import ConsumeSpans, publishing, task_id_of

log = logging.getLogger(__name__)

PARTITIONS = 4


async def start_broker(broker: KafkaBroker) -> None:
    """Connects and starts every subscriber at once. A durable consumer's start returns only once
    its group has given it partitions, a join that takes most of `KAFKA_SESSION_TIMEOUT_MS` on the
    local stand-in and seconds on Kafka too; FastStream's `broker.start()` starts subscribers one
    after another, so billing, with two groups, was ready only after two joins in a row.

    What `start()` does besides (FastStream 0.7: connect, each subscriber, each publisher, then
    `running`) is done here in the same order; tests/shared/test_kafka_start.py pins it."""
    await broker.connect()
    await asyncio.gather(*(subscriber.start() for subscriber in broker.subscribers))
    for publisher in broker.publishers:
        await publisher.start()
    broker.running = True


def make_broker(settings: CommonSettings, client_id: str) -> KafkaBroker:
    # acks="all": an event counts as published only once the broker has it durably.
    return KafkaBroker(settings.kafka_bootstrap_servers, client_id=client_id, acks="all",
                       logger=logging.getLogger(f"faststream.{client_id}"), log_level=logging.DEBUG,
                       middlewares=(ConsumeSpans,) if tracing.tracer() is not None else ())


IDLE_FETCH_WAIT_MS = 100


def consumer_options(settings: CommonSettings, group_id: str) -> dict:
    """Options for a durable consumer: commits only after the handler succeeded (a failure
    seeks back, so the batch is delivered again), and the idle fetch wait (a consumer on the
    hot request/reply path is paced by a `FetchPace`, which shortens it while messages flow)."""
    return dict(
        group_id=group_id, auto_offset_reset="earliest", ack_policy=AckPolicy.NACK_ON_ERROR,
        fetch_max_wait_ms=IDLE_FETCH_WAIT_MS,
        session_timeout_ms=settings.kafka_session_timeout_ms,
        heartbeat_interval_ms=settings.kafka_heartbeat_interval_ms,
    )


class FetchPace:
    """The fetch wait of the consumers on the hot request/reply path: short while messages flow,
    long once they have been quiet for `linger_s`.

    A broker that does not answer a waiting fetch early when records arrive (the local Kafka
    stand-in) makes a consumer's fetch wait both its added latency (the default 500 ms adds ~250 ms
    to a round trip) and how often it asks: 5 ms keeps a round trip at 5-8 ms, but costs ~200
    fetches a second, and the broker's CPU to answer them, even when nothing happens. Idle, the wait
    is `IDLE_FETCH_WAIT_MS`: the first message after a quiet spell waits at most that long once, and
    `busy()` (a message seen, or a request about to be answered) shortens the wait for the next
    fetch. A broker that answers waiting fetches early (Apache Kafka) is as fast either way.

    aiokafka reads the wait from its fetcher for every fetch request it builds; the fetcher has no
    public setter, so this sets its attribute (tests/shared/test_fetch_pace.py pins that)."""

    def __init__(self, *, busy_ms: int = 5, idle_ms: int = IDLE_FETCH_WAIT_MS, linger_s: float = 2.0) -> None:
        self._busy_ms, self._idle_ms, self._linger_s = busy_ms, idle_ms, linger_s
        self._consumers: list[AIOKafkaConsumer] = []
        self._last_busy = 0.0
        self._wait_ms = idle_ms

    @property
    def wait_ms(self) -> int:
        return self._wait_ms

    def attach(self, consumer: AIOKafkaConsumer) -> None:
        """A started consumer, paced from now on."""
        self._consumers.append(consumer)
        self._set(self._wait_ms)

    def busy(self) -> None:
        self._last_busy = time.monotonic()
        if self._wait_ms != self._busy_ms:
            self._set(self._busy_ms)

    def settle(self) -> None:
        """Back to the idle wait once nothing was seen for `linger_s`."""
        if self._wait_ms != self._idle_ms and time.monotonic() - self._last_busy >= self._linger_s:
            self._set(self._idle_ms)

    async def run(self) -> None:
        """Settles every `linger_s / 2`, until cancelled."""
        while True:
            await asyncio.sleep(self._linger_s / 2)
            self.settle()

    def _set(self, wait_ms: int) -> None:
        self._wait_ms = wait_ms
        for consumer in self._consumers:
            consumer._fetcher._fetch_max_wait_ms = wait_ms


async def tail_consumer(settings: CommonSettings, names: tuple[str, ...], fetch_max_wait_ms: int) -> AIOKafkaConsumer:
    """A consumer of every partition of these topics (by their unqualified names), from their ends,
    in no consumer group: for what every instance of a service must hear (billing's replies, the
    gateways' dispatch signals), only from now on. Its end offsets are resolved before it is
    returned, so nothing published after this call is missed."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False,
                                fetch_max_wait_ms=fetch_max_wait_ms)
    await consumer.start()
    partitions = []
    for name in (topics.qualified(t, settings.kafka_topic_prefix) for t in names):
        parts = consumer.partitions_for_topic(name) or await _fetch_partitions(consumer, name)
        partitions += [TopicPartition(name, p) for p in parts]
    consumer.assign(partitions)
    await consumer.seek_to_end(*partitions)
    for tp in partitions:
        await consumer.position(tp)
    return consumer


async def _fetch_partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    for _ in range(50):
        await consumer._client.force_metadata_update()  # aiokafka has no public call for this
        parts = consumer.partitions_for_topic(topic)
        if parts:
            return parts
        await asyncio.sleep(0.1)
    raise RuntimeError(f"topic {topic} has no partitions")


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

    @property
    def producer(self) -> str:
        """This process's id on the events it publishes (`service/instance`)."""
        return self._producer

    def topic(self, name: str) -> str:
        return topics.qualified(name, self._prefix)

    async def publish(self, event: Event) -> None:
        if not event.producer:
            event = event.model_copy(update={"producer": self._producer})
        payload, topic = event.model_dump(mode="json"), self.topic(event.TOPIC)
        with publishing(topic, event.correlation_id, task_id_of(payload)) as trace_headers:
            sending = self._broker.publish(payload, topic=topic, key=event.correlation_id.encode(),
                                           headers={"event-type": event.type, **trace_headers})
            try:
                await asyncio.wait_for(sending, self._timeout_s)
            except (asyncio.TimeoutError, KafkaError, OSError) as exc:
                PUBLISH_FAILURES.labels(event.TOPIC).inc()
                raise PublishFailed(f"{event.type} for {event.correlation_id} not published: {exc!r}") from exc
        MESSAGES_PUBLISHED.labels(event.TOPIC).inc()
