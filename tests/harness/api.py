"""Small helpers that drive the public API the way a client would."""
from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from shared.ledger.invariants import wallet_violations
from shared.settings import CommonSettings


class AdminApi:
    def __init__(self, base_url: str, token: str) -> None:
        self.http = httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {token}"},
                                      timeout=30)

    async def create_user(self, quota: int = 0, **fields: Any) -> str:
        response = await self.http.post("/admin/users", json={"name": "user", "quota": quota, **fields})
        assert response.status_code == 201, response.text
        return response.json()["id"]

    async def create_key(self, user_id: str) -> str:
        response = await self.http.post(f"/admin/users/{user_id}/api-keys", json={"name": "key"})
        assert response.status_code == 201, response.text
        return response.json()["key"]

    async def user_with_key(self, quota: int = 0, **fields: Any) -> tuple[str, str]:
        user_id = await self.create_user(quota, **fields)
        return user_id, await self.create_key(user_id)

    async def wallet(self, user_id: str) -> dict[str, int]:
        """The wallet's amounts in quota units (without the same amounts in USD)."""
        response = await self.http.get(f"/admin/users/{user_id}/wallet")
        assert response.status_code == 200, response.text
        return {k: v for k, v in response.json().items() if k != "usd"}

    async def create_channel(self, **fields: Any) -> dict[str, Any]:
        response = await self.http.post("/admin/channels", json=fields)
        assert response.status_code == 201, response.text
        return response.json()

    async def close(self) -> None:
        await self.http.aclose()


# Gateways serve configuration from memory for at most CONFIG_CACHE_TTL_S (the harness runs the
# default): a change made through one gateway is in force on another within it, plus the time a
# request and its check take on a loaded machine.
CONFIG_IN_FORCE_WITHIN_S = CommonSettings.model_fields["config_cache_ttl_s"].default + 2.0


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 30.0, interval: float = 0.1) -> Any:
    """Polls `check` until it returns a truthy value (returned) or raises no AssertionError."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = await check()
            if result:
                return result
            failure: Exception = AssertionError("condition stayed false")
        except AssertionError as exc:
            failure = exc
        if time.monotonic() > deadline:
            raise failure
        await asyncio.sleep(interval)


async def assert_sound_wallet(db, user_id: str, timeout: float = 30.0) -> None:
    """The user's wallet keeps every money rule (shared/ledger/invariants.py) once the operations
    in flight have finished. Against running services an answer can precede its operation's last
    step (billing answers a hold or a top-up, then releases its id from `wallet.pending`), so a
    check right after the answer may see it in flight: this waits, and fails with what is broken."""
    async def sound() -> bool:
        assert await wallet_violations(db, user_id) == []
        return True
    await eventually(sound, timeout=timeout)


@contextlib.asynccontextmanager
async def billing_client(env: dict[str, str], timeout: float = 30.0):
    """The gateway's own billing client, connected to a stack from the test process."""
    from services.gateway.billing_client import BillingClient
    from shared.kafka import EventPublisher, make_broker
    from shared.settings import CommonSettings

    settings = CommonSettings(kafka_bootstrap_servers=env["KAFKA_BOOTSTRAP_SERVERS"],
                              kafka_topic_prefix=env["KAFKA_TOPIC_PREFIX"])
    broker = make_broker(settings, client_id="test")
    await broker.start()
    publisher = EventPublisher(broker, settings, producer="test")
    client = BillingClient(settings, publisher, timeout=timeout)
    await client.start()
    try:
        yield client, publisher
    finally:
        await client.stop()
        await broker.stop()


async def consumer_lag(env: dict[str, str], group: str, topic: str) -> int:
    """Messages of `topic` the consumer group has not committed yet; <= 0 means all handled
    (the Tansu stand-in reports end offsets that trail the committed position after a
    produce request carrying several records, so the figure can go below zero)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    name = env["KAFKA_TOPIC_PREFIX"] + topic
    # A consumer that never subscribes only reads the group's committed offsets; it does not join.
    consumer = AIOKafkaConsumer(bootstrap_servers=env["KAFKA_BOOTSTRAP_SERVERS"], group_id=group,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(name, p) for p in consumer.partitions_for_topic(name) or ()]
        ends = await consumer.end_offsets(partitions)
        lag = 0
        for tp, end in ends.items():
            lag += end - ((await consumer.committed(tp)) or 0)
        return lag
    finally:
        await consumer.stop()
