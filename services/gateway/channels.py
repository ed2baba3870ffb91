"""Channels: where a public model name is served, with what credentials and prices."""
from __future__ import annotations

from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from shared.config_cache import ConfigCache
from shared.clock import stamp, stamp_in
from shared.ids import new_id

SUBMIT_SUFFIX = "/submit"
# An archived channel keeps its document (tasks and consumption logs name its id, the poller
# finishes its tasks in flight) but serves nothing, leaves the lists and frees its name.
LIVE = {"archived_at": {"$exists": False}}


class ChannelExists(Exception):
    pass


def model_spellings(model: str) -> list[str]:
    """Existing CustomPass gateways list async models with a `/submit` suffix: accept both."""
    bare = model.removesuffix(SUBMIT_SUFFIX)
    return [bare, bare + SUBMIT_SUFFIX]


class ChannelRepository:
    """The routing reads (`serving`, `for_group`) go through the configuration cache; every write
    here, health counts included, clears it, so this process sees its own changes at once."""

    def __init__(self, db: AsyncDatabase, cache: ConfigCache | None = None) -> None:
        self._channels = db["channels"]
        self._cache = cache or ConfigCache(0)

    async def ensure_indexes(self) -> None:
        await self._channels.create_index("models")

    async def create(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Refuses a name a live channel has (`ChannelExists`); checked before the insert, so two
        admins creating one name at the same instant could both succeed."""
        await self._refuse_taken_name(fields["name"])
        channel = {"_id": new_id("ch"), **fields, "created_at": stamp(), "updated_at": stamp()}
        await self._channels.insert_one(channel)
        self._cache.clear()
        return channel

    async def _refuse_taken_name(self, name: str, channel_id: str | None = None) -> None:
        named = await self._channels.find({"name": name, **LIVE}, projection={"_id": 1}).to_list(None)
        if any(found["_id"] != channel_id for found in named):
            raise ChannelExists(name)

    async def get(self, channel_id: str) -> dict[str, Any] | None:
        return await self._channels.find_one({"_id": channel_id})

    async def list(self, limit: int, offset: int, include_archived: bool = False) -> list[dict[str, Any]]:
        cursor = self._channels.find({} if include_archived else LIVE).sort("created_at", 1).skip(offset).limit(limit)
        return await cursor.to_list(length=limit)

    async def count(self) -> int:
        """How many live (not archived) channels there are: what `list` pages through."""
        return await self._channels.count_documents(LIVE)

    async def enabled(self) -> list[dict[str, Any]]:
        """Every enabled live channel (a small collection), oldest first."""
        return await self._cache.get(("enabled",), lambda: self._channels.find(
            {"enabled": True, **LIVE}).sort("created_at", 1).to_list(None))

    async def cooling_down(self, limit: int) -> list[dict[str, Any]]:
        """The channels resting after failures in a row, the soonest back first: their name,
        when they serve again and the failures counted since (read as stored, not cached)."""
        return await self._channels.find({"cooldown_until": {"$gt": stamp()}},
                                         {"name": 1, "cooldown_until": 1, "consecutive_failures": 1}
                                         ).sort("cooldown_until", 1).to_list(limit)

    async def update(self, channel_id: str, changes: dict[str, Any]) -> dict[str, Any] | None:
        """None for a missing or archived channel; a rename to a live channel's name raises
        `ChannelExists`."""
        if "name" in changes:
            await self._refuse_taken_name(changes["name"], channel_id)
        self._cache.clear()
        return await self._channels.find_one_and_update(
            {"_id": channel_id, **LIVE}, {"$set": {**changes, "updated_at": stamp()}},
            return_document=ReturnDocument.AFTER)

    async def archive(self, channel_id: str) -> dict[str, Any] | None:
        """Disables the channel and stamps `archived_at` (kept if archived already); None if missing."""
        await self._channels.update_one({"_id": channel_id, **LIVE},
                                        {"$set": {"enabled": False, "archived_at": stamp(), "updated_at": stamp()}})
        self._cache.clear()  # after the write: a read racing it cannot keep the channel serving
        return await self.get(channel_id)

    async def serving(self, model: str, kinds: tuple[str, ...]) -> list[dict[str, Any]]:
        """The enabled channels of one of `kinds` serving `model` (either spelling)."""
        return await self._cache.get(("serving", model.removesuffix(SUBMIT_SUFFIX), kinds), lambda: self._channels.find(
            {"models": {"$in": model_spellings(model)}, "kind": {"$in": list(kinds)}, "enabled": True, **LIVE}
        ).sort("created_at", 1).to_list(None))

    async def for_group(self, group: str, kind: str) -> list[dict[str, Any]]:
        """The enabled channels of `kind` serving a worker group."""
        return await self._cache.get(("for_group", group, kind), lambda: self._channels.find(
            {"group": group, "kind": kind, "enabled": True, **LIVE}).sort("created_at", 1).to_list(None))

    async def record_failure(self, channel: dict[str, Any], threshold: int, cooldown_s: float) -> bool:
        """Counts a failure in a row; the `threshold`-th starts a cool-down (True when this one
        did). Counted in the channel document, so every gateway process sees the same state."""
        self._cache.clear()
        after = await self._channels.find_one_and_update(
            {"_id": channel["_id"]}, {"$inc": {"consecutive_failures": 1}},
            projection={"consecutive_failures": 1}, return_document=ReturnDocument.AFTER)
        if after is None or threshold <= 0 or after["consecutive_failures"] < threshold:
            return False
        cooled = await self._channels.update_one(
            {"_id": channel["_id"], "consecutive_failures": after["consecutive_failures"]},
            {"$set": {"consecutive_failures": 0, "cooldown_until": stamp_in(cooldown_s), "updated_at": stamp()}})
        return cooled.modified_count == 1

    async def record_success(self, channel: dict[str, Any]) -> None:
        if channel.get("consecutive_failures"):  # most calls succeed on a healthy channel: no write
            self._cache.clear()
            await self._channels.update_one({"_id": channel["_id"]}, {"$set": {"consecutive_failures": 0}})
