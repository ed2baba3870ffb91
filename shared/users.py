"""Users and their API keys in MongoDB. Only a SHA-256 hash of an API key is stored."""
from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from shared.config_cache import ConfigCache
from shared.clock import stamp
from shared.ids import new_id
from shared.listing import names_by_id


# A deleted key is archived: its document stays (tasks and consumption logs name its id) but it
# no longer authenticates, and the admin API lists it only when asked.
LIVE = {"archived_at": {"$exists": False}}


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class UserRepository:
    """Authentication reads (`get`, `find_key`) go through the configuration cache; every write
    here clears it."""

    def __init__(self, db: AsyncDatabase, cache: ConfigCache | None = None) -> None:
        self._users = db["users"]
        self._keys = db["api_keys"]
        self._cache = cache or ConfigCache(0)

    async def ensure_indexes(self) -> None:
        await self._keys.create_index("hash", unique=True)
        await self._keys.create_index("user_id")

    async def create(self, name: str, member_until: datetime | None, group: str,
                     limits: dict[str, Any]) -> dict[str, Any]:
        user = {"_id": new_id("usr"), "name": name, "status": "active", "group": group, "created_at": stamp(),
                "member_until": stamp(member_until) if member_until else None, **limits}
        await self._users.insert_one(user)
        self._cache.clear()
        return user

    async def get(self, user_id: str) -> dict[str, Any] | None:
        return await self._cache.get(("user", user_id), lambda: self._users.find_one({"_id": user_id}))

    async def names(self, user_ids: Iterable[str | None]) -> dict[str, str]:
        """The names of these users, by id (what a page shows for its ids)."""
        return await names_by_id(self._users, user_ids)

    async def key_names(self, key_ids: Iterable[str | None]) -> dict[str, str]:
        """The names of these API keys, archived ones included, by id."""
        return await names_by_id(self._keys, key_ids)

    async def list(self, name_contains: str | None, limit: int, offset: int) -> list[dict[str, Any]]:
        """Newest first; `name_contains` matches anywhere in the name, ignoring case."""
        return await self._page(_name_contains(name_contains) if name_contains else {}, limit, offset)

    async def search(self, text: str, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        """The console's search: users whose name contains `text` (ignoring case) or whose id is
        `text`, newest first; one page of them and how many match in all."""
        query = {"$or": [_name_contains(text), {"_id": text}]} if text else {}
        return await self._page(query, limit, offset), await self._users.count_documents(query)

    async def _page(self, query: dict[str, Any], limit: int, offset: int) -> list[dict[str, Any]]:
        cursor = self._users.find(query).sort([("created_at", -1), ("_id", -1)]).skip(offset).limit(limit)
        return await cursor.to_list(length=limit)

    async def update(self, user_id: str, changes: dict[str, Any]) -> dict[str, Any] | None:
        self._cache.clear()
        return await self._users.find_one_and_update(
            {"_id": user_id}, {"$set": {**_stored(changes), "updated_at": stamp()}},
            return_document=ReturnDocument.AFTER)

    async def create_key(self, user_id: str, name: str, limits: dict[str, Any]) -> tuple[dict[str, Any], str]:
        secret = f"cp-{secrets.token_urlsafe(32)}"
        key = {"_id": new_id("key"), "user_id": user_id, "name": name, "hash": hash_key(secret),
               "prefix": secret[:7], "enabled": True, "created_at": stamp(), **_stored(limits)}
        await self._keys.insert_one(key)
        self._cache.clear()
        return key, secret

    async def get_key(self, user_id: str, key_id: str) -> dict[str, Any] | None:
        return await self._keys.find_one({"_id": key_id, "user_id": user_id})

    async def list_keys(self, user_id: str, include_archived: bool = False) -> list[dict[str, Any]]:
        query = {"user_id": user_id} if include_archived else {"user_id": user_id, **LIVE}
        return await self._keys.find(query).sort([("created_at", 1), ("_id", 1)]).to_list(None)

    async def update_key(self, user_id: str, key_id: str, changes: dict[str, Any]) -> dict[str, Any] | None:
        """None for a missing or archived key."""
        if not changes:
            key = await self.get_key(user_id, key_id)
            return None if key is None or "archived_at" in key else key
        self._cache.clear()
        return await self._keys.find_one_and_update(
            {"_id": key_id, "user_id": user_id, **LIVE}, {"$set": {**_stored(changes), "updated_at": stamp()}},
            return_document=ReturnDocument.AFTER)

    async def archive_key(self, user_id: str, key_id: str) -> bool:
        """Stops the key authenticating (at once here, within CONFIG_CACHE_TTL_S elsewhere);
        False if the user has no such live key."""
        archived = await self._keys.update_one(
            {"_id": key_id, "user_id": user_id, **LIVE},
            {"$set": {"enabled": False, "archived_at": stamp(), "updated_at": stamp()}})
        self._cache.clear()  # after the write: a read racing it cannot keep the live key
        return archived.modified_count == 1

    async def find_key(self, secret: str) -> dict[str, Any] | None:
        digest = hash_key(secret)
        return await self._cache.get(("key", digest), lambda: self._keys.find_one({"hash": digest, **LIVE}))


def _name_contains(text: str) -> dict[str, Any]:
    return {"name": {"$regex": re.escape(text), "$options": "i"}}


def _stored(changes: dict[str, Any]) -> dict[str, Any]:
    """Times are stored as fixed-width strings (`shared.clock`)."""
    return {field: stamp(value) if isinstance(value, datetime) else value for field, value in changes.items()}
