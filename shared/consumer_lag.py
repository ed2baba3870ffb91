"""Kafka consumer lag, as far as the client knows it: for each partition a service's consumer
groups are assigned, the last high-water mark the broker reported minus the consumer's position.

aiokafka exposes both per assigned partition, so each service reports its own lag without a
separate exporter; on Kubernetes, Strimzi's Kafka Exporter gives the broker's view as well.
"""
from __future__ import annotations

from collections import defaultdict

from faststream.kafka import KafkaBroker
from prometheus_client import Gauge

CONSUMER_LAG = Gauge("custompass_kafka_consumer_lag_messages",
                     "Messages not yet consumed on this process's assigned partitions", ["group", "topic"])


async def record_consumer_lag(broker: KafkaBroker, topic_prefix: str) -> None:
    for subscriber in broker.subscribers:
        consumer = getattr(subscriber, "consumer", None)
        if consumer is None or not getattr(subscriber, "group_id", None):
            continue  # not started, or not a consumer group (nothing is committed for it)
        lag: dict[str, int] = defaultdict(int)
        for partition in consumer.assignment():
            highwater = consumer.highwater(partition)
            if highwater is None:
                continue  # no fetch answered yet for this partition
            topic = partition.topic.removeprefix(topic_prefix)  # the prefix only isolates stacks
            lag[topic] += max(highwater - await consumer.position(partition), 0)
        for topic, messages in lag.items():
            CONSUMER_LAG.labels(subscriber.group_id, topic).set(messages)
