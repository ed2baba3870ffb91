"""FetchPace against a real consumer on the test broker: the wait aiokafka's fetcher uses follows
busy and idle spells, and a paced consumer still receives what is published either way."""
from __future__ import annotations

import secrets

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared.kafka import IDLE_FETCH_WAIT_MS, FetchPace


async def test_the_fetch_wait_is_short_while_busy_and_long_once_quiet(infra):
    topic = f"pace-{secrets.token_hex(4)}"
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap_servers)
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=infra.kafka_bootstrap_servers,
                                auto_offset_reset="earliest", fetch_max_wait_ms=500)
    await producer.start()
    await consumer.start()
    try:
        lingering = FetchPace(linger_s=60)
        lingering.attach(consumer)
        fetcher_wait = lambda: consumer._fetcher._fetch_max_wait_ms  # noqa: E731 (what aiokafka sends)
        assert fetcher_wait() == IDLE_FETCH_WAIT_MS  # attached idle, whatever it was built with
        lingering.busy()
        assert (lingering.wait_ms, fetcher_wait()) == (5, 5)
        lingering.settle()  # seen busy within linger_s: stays short
        assert fetcher_wait() == 5
        await producer.send_and_wait(topic, b"while busy")
        assert (await consumer.getone()).value == b"while busy"

        quiet = FetchPace(linger_s=0)
        quiet.attach(consumer)
        quiet.busy()
        quiet.settle()
        assert (quiet.wait_ms, fetcher_wait()) == (IDLE_FETCH_WAIT_MS, IDLE_FETCH_WAIT_MS)
        await producer.send_and_wait(topic, b"while idle")
        assert (await consumer.getone()).value == b"while idle"
    finally:
        await consumer.stop()
        await producer.stop()
