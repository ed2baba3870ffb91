"""Worker dispatch skips a worker channel cooling down while another serves the group, and refuses
the group, as the other paths refuse a model, when every one is cooling down."""
from __future__ import annotations

import asyncio

from shared.clock import stamp_in
from tests.harness.api import CONFIG_IN_FORCE_WITHIN_S
from tests.workers.conftest import PRICE

OTHER_PRICE = PRICE - 3


async def cool_down(dispatch_db, channel_id: str) -> None:
    """As `ChannelRepository.record_failure` leaves a channel past its threshold; the gateways
    read it within their configuration cache's bound."""
    await dispatch_db.channels.update_one({"_id": channel_id}, {"$set": {"cooldown_until": stamp_in(600)}})


async def test_a_worker_channel_cooling_down_is_skipped_then_every_one_cooling_refuses_the_group(
        worker_group, connect_worker, dispatch_client, dispatch_admin, dispatch_db):
    group, token = await worker_group()
    await connect_worker(group, token, ready=False)  # online, so tasks queue; it takes none
    listing = await dispatch_db.channels.find_one({"group": group})
    other = await dispatch_admin.create_channel(name=f"worker-{group}-b", kind="worker", group=group, models=["other"],
                                                billing={"mode": "per_call", "price": OTHER_PRICE})
    await cool_down(dispatch_db, listing["_id"])  # it lists the model: without the cool-down it would win
    await asyncio.sleep(CONFIG_IN_FORCE_WITHIN_S)
    _, client = await dispatch_client()
    response = await client.post("/api/openai", json={"data": {}, "group": group, "async": True})
    assert response.status_code == 200, response.text
    task = await dispatch_db.tasks.find_one({"_id": response.json()["taskId"]})
    assert (task["channel_id"], task["hold_amount"]) == (other["id"], OTHER_PRICE)

    await cool_down(dispatch_db, other["id"])
    await asyncio.sleep(CONFIG_IN_FORCE_WITHIN_S)
    refused = await client.post("/api/openai", json={"data": {}, "group": group, "async": True})
    assert refused.status_code == 503 and refused.headers.get("Retry-After"), refused.text
    assert refused.json()["code"] == "channels_cooling_down" and "cooling down" in refused.json()["error"]
