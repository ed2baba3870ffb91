"""Worker tokens: what a worker presents on `WS /ws`. A token admits one group; only its
SHA-256 hash is stored, like an API key's."""
from __future__ import annotations

import secrets
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from services.gateway.users import hash_key
from shared.clock import stamp
from shared.ids import new_id


class WorkerTokenRepository:
    def __init__(self, db: AsyncDatabase) -> None:
        self._tokens = db["worker_tokens"]

    async def ensure_indexes(self) -> None:
        await self._tokens.create_index("hash", unique=True)

    async def create(self, group: str) -> tuple[dict[str, Any], str]:
        secret = f"cpw-{secrets.token_urlsafe(32)}"
        token = {"_id": new_id("wtk"), "group": group, "hash": hash_key(secret), "enabled": True,
                 "created_at": stamp()}
        await self._tokens.insert_one(token)
        return token, secret

    async def list(self, limit: int, offset: int) -> list[dict[str, Any]]:
        return await self._tokens.find({}, {"hash": 0}).sort("created_at", -1).skip(offset).limit(limit) \
            .to_list(length=limit)

    async def count(self) -> int:
        return await self._tokens.count_documents({})

    async def set_enabled(self, token_id: str, enabled: bool) -> dict[str, Any] | None:
        """A disabled token admits no new socket; sockets already open keep their session."""
        return await self._tokens.find_one_and_update({"_id": token_id}, {"$set": {"enabled": enabled}},
                                                      projection={"hash": 0}, return_document=ReturnDocument.AFTER)

    async def admits(self, secret: str, group: str) -> bool:
        if not secret:
            return False
        token = await self._tokens.find_one({"hash": hash_key(secret)})
        return token is not None and token.get("enabled", True) and token["group"] == group
