"""User groups: a price ratio applied to the holds and costs of the group's users, and default
limits for their API keys (a key's own setting wins).

A user is in `default` unless set; `default` has ratio 1 unless an admin defines it. The ratio
in force when a task is opened is snapshotted with the task's billing terms (`Channel.priced`,
shared/channels.py)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.config_cache import ConfigCache
from shared.clock import stamp

DEFAULT_GROUP = "default"


class GroupExists(Exception):
    pass


class GroupRepository:
    """`get` goes through the configuration cache (an undefined `default` too); writes clear it."""

    def __init__(self, db: AsyncDatabase, cache: ConfigCache | None = None) -> None:
        self._groups = db["groups"]
        self._cache = cache or ConfigCache(0)

    async def create(self, name: str, price_ratio: Decimal, description: str | None,
                     key_defaults: dict[str, Any] | None = None) -> dict[str, Any]:
        group = {"_id": name, "price_ratio": str(price_ratio), "description": description,
                 "key_defaults": key_defaults, "created_at": stamp(), "updated_at": stamp()}
        try:
            await self._groups.insert_one(group)
        except DuplicateKeyError:
            raise GroupExists(name) from None
        finally:
            self._cache.clear()
        return group

    async def get(self, name: str) -> dict[str, Any] | None:
        return await self._cache.get(("group", name), lambda: self._groups.find_one({"_id": name}))

    async def list(self, limit: int, offset: int) -> list[dict[str, Any]]:
        return await self._groups.find({}).sort("_id", 1).skip(offset).limit(limit).to_list(length=limit)

    async def count(self) -> int:
        return await self._groups.count_documents({})  # a handful of documents

    async def update(self, name: str, changes: dict[str, Any]) -> dict[str, Any] | None:
        if "price_ratio" in changes:
            changes = {**changes, "price_ratio": str(changes["price_ratio"])}
        self._cache.clear()
        return await self._groups.find_one_and_update(
            {"_id": name}, {"$set": {**changes, "updated_at": stamp()}}, return_document=ReturnDocument.AFTER)

    async def exists(self, name: str) -> bool:
        return name == DEFAULT_GROUP or await self.get(name) is not None

    async def of_user(self, user: dict[str, Any]) -> dict[str, Any]:
        """The user's group as it is now; empty for a `default` no admin has defined."""
        return await self.get(user.get("group") or DEFAULT_GROUP) or {}


def key_defaults(group: dict[str, Any]) -> dict[str, Any]:
    """The limits the group gives keys that set none of their own."""
    return {k: v for k, v in (group.get("key_defaults") or {}).items() if v is not None}


def price_ratio(group: dict[str, Any]) -> str:
    """The group's ratio as a decimal string ("1" when it has none)."""
    return group.get("price_ratio", "1")
