"""Channels: where a public model name is served, with what credentials and prices."""
from __future__ import annotations

from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from shared.clock import stamp
from shared.ids import new_id

SUBMIT_SUFFIX = "/submit"


def model_spellings(model: str) -> list[str]:
    """Existing CustomPass gateways list async models with a `/submit` suffix: accept both."""
    bare = model.removesuffix(SUBMIT_SUFFIX)
    return [bare, bare + SUBMIT_SUFFIX]


class ChannelRepository:
    def __init__(self, db: AsyncDatabase) -> None:
        self._channels = db["channels"]

    async def ensure_indexes(self) -> None:
        await self._channels.create_index("models")

    async def create(self, fields: dict[str, Any]) -> dict[str, Any]:
        channel = {"_id": new_id("ch"), **fields, "created_at": stamp(), "updated_at": stamp()}
        await self._channels.insert_one(channel)
        return channel

    async def get(self, channel_id: str) -> dict[str, Any] | None:
        return await self._channels.find_one({"_id": channel_id})

    async def list(self, limit: int, offset: int) -> list[dict[str, Any]]:
        cursor = self._channels.find({}).sort("created_at", 1).skip(offset).limit(limit)
        return await cursor.to_list(length=limit)

    async def update(self, channel_id: str, changes: dict[str, Any]) -> dict[str, Any] | None:
        return await self._channels.find_one_and_update(
            {"_id": channel_id}, {"$set": {**changes, "updated_at": stamp()}},
            return_document=ReturnDocument.AFTER)

    async def for_model(self, model: str, kinds: tuple[str, ...]) -> dict[str, Any] | None:
        """The enabled channel serving `model` (either spelling) with one of `kinds`."""
        return await self._channels.find_one(
            {"models": {"$in": model_spellings(model)}, "kind": {"$in": list(kinds)}, "enabled": True},
            sort=[("priority", -1), ("created_at", 1)])
