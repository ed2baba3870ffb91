"""Worker tokens: what a worker presents on `WS /ws`. A token admits one group; only its
SHA-256 hash is stored, like an API key's. A token disabled or deleted is revoked: it admits no
new socket, and the sockets it opened are closed (workers/revocation.py)."""
from __future__ import annotations

import secrets
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from shared.users import hash_key
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
        return await self._tokens.find_one_and_update({"_id": token_id}, {"$set": {"enabled": enabled}},
                                                      projection={"hash": 0}, return_document=ReturnDocument.AFTER)

    async def delete(self, token_id: str) -> bool:
        return (await self._tokens.delete_one({"_id": token_id})).deleted_count == 1

    async def admitting(self, secret: str, group: str) -> str | None:
        """The id of the enabled token `secret` is, if it admits `group`; None otherwise."""
        if not secret:
            return None
        token = await self._tokens.find_one({"hash": hash_key(secret)})
        return token["_id"] if token is not None and _enabled(token) and token["group"] == group else None

    async def revoked_among(self, token_ids: set[str]) -> set[str]:
        """Which of these tokens are disabled or gone: one query for all of a gateway's sockets."""
        if not token_ids:
            return set()
        found = await self._tokens.find({"_id": {"$in": sorted(token_ids)}}, {"enabled": 1}).to_list(None)
        return token_ids - {token["_id"] for token in found if _enabled(token)}


def _enabled(token: dict[str, Any]) -> bool:
    # bool(): the local MongoDB stand-in reads back booleans written by `$set` as 0/1.
    return bool(token.get("enabled", True))
