"""A new provider is one module plus registration: the poller's batch sync drives it with no
other change, and reports its summary (the real database and broker; the sweep runs in this
process)."""
from __future__ import annotations

import secrets

import httpx
import pytest
from prometheus_client import REGISTRY
from pymongo import AsyncMongoClient

from services.poller.settings import PollerSettings
from services.poller.sweep import Sweeper
from shared.channels import ChannelRepository
from shared.clock import stamp, stamp_in
from shared.kafka import EventPublisher, make_broker
from shared.providers import registry
from shared.tasks import TaskStore
from tests.providers.tiny_provider import TinyProvider


def _summary(outcome: str) -> float:
    return REGISTRY.get_sample_value("custompass_poller_sync_summary_total", {"outcome": outcome}) or 0.0


@pytest.fixture
def tiny_registered():
    registry.register(TinyProvider())
    yield
    registry.unregister("tiny")


async def test_registered_provider_is_polled_in_its_batch_size(infra, tiny_registered):
    settings = PollerSettings(kafka_bootstrap_servers=infra.kafka_bootstrap_servers, mongodb_url=infra.mongodb_url,
                              kafka_topic_prefix=f"tiny{secrets.token_hex(3)}.")
    client = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    db = client[f"cp_tiny_{secrets.token_hex(4)}"]
    broker = make_broker(settings, client_id="tiny-test")
    await broker.start()
    try:
        await db.channels.insert_one({"_id": "ch_tiny", "name": "tiny", "kind": "tiny", "enabled": True,
                                      "poll_interval_s": 60})
        task_ids = [f"task_tiny{i}" for i in range(3)]
        await db.tasks.insert_many([
            {"_id": task_id, "user_id": "u", "model": "m", "channel_id": "ch_tiny", "status": "SUBMITTED",
             "upstream_task_id": f"up-{task_id}", "created_at": stamp(), "next_poll_at": stamp_in(-1),
             "poll_lease_until": 0.0} for task_id in task_ids])
        succeeded_before = _summary("succeeded")
        async with httpx.AsyncClient() as http:
            sweeper = Sweeper(TaskStore(db), ChannelRepository(db), EventPublisher(broker, settings, "test"), http,
                              settings, outbound=http)
            report = await sweeper.sweep()
        assert _summary("succeeded") - succeeded_before == 3  # the summary is a Prometheus counter too
        assert report.as_dict() | {"errors": []} == {
            "total": 3, "updated": 3, "succeeded": 3, "failed": 0, "stillProcessing": 0, "upstreamRequests": 2,
            "errors": []}
        for task_id in task_ids:
            task = await db.tasks.find_one({"_id": task_id})
            assert task["status"] == "SUCCESS" and task["result"] == {"echo": f"up-{task_id}"}
            assert task["usage"] == {"seconds": 2}
    finally:
        await broker.stop()
        await client.close()
