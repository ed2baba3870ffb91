"""Upstream webhook deliveries already taken (`webhook_receipts`, one document per channel and
delivery id), so a replay or a provider's retry is applied once. A receipt only has to outlive
the provider's retries of its delivery, so receipts older than WEBHOOK_RECEIPT_RETENTION_S are
purged; a delivery replayed after that still changes nothing once its task has finished (a
terminal task's status never changes again), and a signed one is refused as too old
(WEBHOOK_TOLERANCE_S) anyway. A periodic purge rather than a TTL index: the stand-in database
stores timestamps as strings, which a TTL index cannot read; any gateway may run it, each
deletes the same documents."""
from __future__ import annotations

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.clock import stamp, stamp_in


class WebhookReceipts:
    def __init__(self, db: AsyncDatabase) -> None:
        self._receipts = db["webhook_receipts"]

    async def ensure_indexes(self) -> None:
        await self._receipts.create_index([("received_at", ASCENDING)])

    async def take(self, receipt_id: str, task_id: str) -> bool:
        """True for a delivery not taken before."""
        try:
            await self._receipts.insert_one({"_id": receipt_id, "task_id": task_id, "received_at": stamp()})
        except DuplicateKeyError:
            return False
        return True

    async def forget(self, receipt_id: str) -> None:
        """Gives the upstream's retry of a delivery that could not be applied another chance."""
        await self._receipts.delete_one({"_id": receipt_id})

    async def purge_older_than(self, seconds: float) -> int:
        return (await self._receipts.delete_many({"received_at": {"$lt": stamp_in(-seconds)}})).deleted_count
