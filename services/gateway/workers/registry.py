"""Which workers are online, across every gateway instance: one document per open socket,
refreshed by its gateway. A gateway that dies stops refreshing, and its workers stop counting
after `worker_stale_s`; a socket closed normally removes its document at once."""
from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from shared.clock import stamp, stamp_in


class WorkerRegistry:
    def __init__(self, db: AsyncDatabase, instance: str, stale_s: float) -> None:
        self._workers = db["workers"]
        self._instance, self._stale_s = instance, stale_s

    async def ensure_indexes(self) -> None:
        await self._workers.create_index([("group", 1), ("seen_at", 1)])

    async def add(self, worker_id: str, group: str) -> None:
        await self._workers.insert_one({"_id": worker_id, "group": group, "instance": self._instance,
                                        "connected_at": stamp(), "seen_at": stamp()})

    async def remove(self, worker_id: str) -> None:
        await self._workers.delete_one({"_id": worker_id})

    async def refresh(self) -> None:
        await self._workers.update_many({"instance": self._instance}, {"$set": {"seen_at": stamp()}})

    async def online(self, group: str) -> int:
        return await self._workers.count_documents({"group": group, "seen_at": {"$gte": stamp_in(-self._stale_s)}})

    async def all_online(self) -> list[dict[str, Any]]:
        return await self._workers.find({"seen_at": {"$gte": stamp_in(-self._stale_s)}}).to_list(None)
