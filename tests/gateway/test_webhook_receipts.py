"""Webhook receipts expire: the gateway purges those older than WEBHOOK_RECEIPT_RETENTION_S
(3 days by default) and keeps the recent ones, which still stop a provider's retries."""
from __future__ import annotations

from shared.clock import stamp, stamp_in
from tests.harness.api import eventually


async def test_old_receipts_are_purged_and_recent_ones_kept(stack, mongo_db):
    receipts = mongo_db["webhook_receipts"]
    await receipts.insert_many([
        {"_id": "ch_old:msg_1", "task_id": "task_old", "received_at": stamp_in(-3 * 86_400 - 60)},
        {"_id": "ch_new:msg_2", "task_id": "task_new", "received_at": stamp_in(-3 * 86_400 + 600)},
        {"_id": "ch_new:msg_3", "task_id": "task_new", "received_at": stamp()},
    ])

    async def purged():
        return await receipts.find_one({"_id": "ch_old:msg_1"}) is None
    await eventually(purged, timeout=15)  # the stack purges every 0.5 s
    assert {r["_id"] async for r in receipts.find({"_id": {"$in": ["ch_new:msg_2", "ch_new:msg_3"]}})} == {
        "ch_new:msg_2", "ch_new:msg_3"}
