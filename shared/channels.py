"""Channels: where a public model name is served, with what credentials and prices.

`Channel` is the one shape of a channel outside `ChannelRepository`, the only code that names the
`channels` collection: the gateway's routing, providers, the poller and the admin answers all read
the record, and the terms that fall back to a configured default are resolved by its methods, once.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from shared import pricing
from shared.clock import stamp, stamp_in
from shared.config_cache import ConfigCache
from shared.ids import new_id
from shared.listing import names_by_id

SUBMIT_SUFFIX = "/submit"
# An archived channel keeps its document (tasks and consumption logs name its id, the poller
# finishes its tasks in flight) but serves nothing, leaves the lists and frees its name.
LIVE = {"archived_at": {"$exists": False}}
FREE = {"mode": "free"}


class ChannelExists(Exception):
    pass


def model_spellings(model: str) -> list[str]:
    """Existing CustomPass gateways list async models with a `/submit` suffix: accept both."""
    bare = model.removesuffix(SUBMIT_SUFFIX)
    return [bare, bare + SUBMIT_SUFFIX]


@dataclass(frozen=True, slots=True, kw_only=True)
class Channel:
    """A stored channel as it is, every field the admin schemas write (services/gateway/schemas.py
    `ChannelCreate`), None where it was never set, so admin answers show what is stored.

    A frozen dataclass, not a pydantic model: the document was validated when the admin API wrote
    it, and a read must take whatever older versions stored rather than refuse a channel that is
    serving; it is also built on every routing read. Records are shared through the configuration
    cache: the nested blocks (`billing`, `status_words`, ...) are the stored dicts, never to be
    changed in place (`priced` makes a new record; a task snapshots a copy of `billing`)."""
    id: str
    name: str
    kind: str
    base_url: str | None = None
    api_key: str | None = None
    models: tuple[str, ...] = ()
    # The shape shared/pricing.py takes and a task snapshots; a channel stored without one is free.
    billing: dict[str, Any] = dataclasses.field(default_factory=lambda: dict(FREE))
    timeout_s: float | None = None
    enabled: bool = True
    token_header: str | None = None
    caller_token: str | None = None
    upstream_precharge: bool | None = None
    poll_interval_s: float | None = None
    task_lifetime_s: float | None = None
    batch_size: int | None = None
    max_concurrent: int | None = None
    status_words: dict[str, list[str]] | None = None
    group: str | None = None
    priority: int | None = None
    weight: int | None = None
    model_mapping: dict[str, str] | None = None
    failure_threshold: int | None = None
    cooldown_s: float | None = None
    webhook_secret: str | None = None
    max_requests_per_s: float | None = None
    result_storage: str | None = None
    upstream_cost_unit: dict[str, Any] | None = None
    upstream_cost_per_second: str | None = None  # decimals are kept as the exact strings stored
    expected_margin_band: dict[str, Any] | None = None
    max_charge: int | None = None
    max_charge_multiple: str | None = None
    late_result: str | None = None
    late_watch_s: float | None = None
    created_at: str | None = None
    updated_at: str | None = None
    archived_at: str | None = None
    consecutive_failures: int = 0
    cooldown_until: str | None = None

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> Channel:
        """Fields a document lacks or stores as null take their defaults; other keys are ignored."""
        values = {name: doc[name] for name in _STORED if doc.get(name) is not None}
        if "models" in values:
            values["models"] = tuple(values["models"])
        return cls(id=doc["_id"], **values)

    def hold_amount(self) -> int:
        """The hold of a new task at the channel's own price (before any upstream precharge answer)."""
        return pricing.hold_amount(self.billing)

    def priced(self, price_ratio: str) -> Channel:
        """The channel with a user group's ratio in its billing terms, which pricing applies and
        the task snapshots; a ratio of 1 leaves the terms as they are."""
        if Decimal(price_ratio) == 1:
            return self
        return dataclasses.replace(self, billing={**self.billing, "price_ratio": price_ratio})

    def poll_interval(self, default_s: float) -> float:
        """Seconds between status queries of a task: the channel's, else `default_s`."""
        return float(self.poll_interval_s or default_s)

    def lifetime(self, default_s: float) -> float:
        """Seconds a task of the channel may live before it fails on timeout."""
        return float(self.task_lifetime_s or default_s)

    def query_batch(self, default: int) -> int:
        """Most tasks one status query asks about."""
        return int(self.batch_size or default)

    def concurrency(self, default: int) -> int:
        """Most status queries in flight to the upstream at once (per poller process)."""
        return int(self.max_concurrent or default)

    def cooldown_terms(self, default_threshold: int, default_cooldown_s: float) -> tuple[int, float]:
        """(failures in a row that start a cool-down, 0: never; how long it lasts)."""
        threshold = default_threshold if self.failure_threshold is None else int(self.failure_threshold)
        return threshold, float(self.cooldown_s or default_cooldown_s)

    @property
    def effective_priority(self) -> int:
        return int(self.priority or 0)

    @property
    def effective_weight(self) -> int:
        """Share of traffic among channels of one priority; 0 (a spare) only when set so."""
        return 1 if self.weight is None else int(self.weight)


_STORED = tuple(f.name for f in dataclasses.fields(Channel) if f.name != "id")


def _channel_or_none(doc: Mapping[str, Any] | None) -> Channel | None:
    return None if doc is None else Channel.from_document(doc)


class ChannelRepository:
    """The routing reads (`serving`, `for_group`) go through the configuration cache; every write
    here, health counts included, clears it, so this process sees its own changes at once."""

    def __init__(self, db: AsyncDatabase, cache: ConfigCache | None = None) -> None:
        self._channels = db["channels"]
        self._cache = cache or ConfigCache(0)

    async def ensure_indexes(self) -> None:
        await self._channels.create_index("models")

    async def create(self, fields: dict[str, Any]) -> Channel:
        """Refuses a name a live channel has (`ChannelExists`); checked before the insert, so two
        admins creating one name at the same instant could both succeed."""
        await self._refuse_taken_name(fields["name"])
        channel = {"_id": new_id("ch"), **fields, "created_at": stamp(), "updated_at": stamp()}
        await self._channels.insert_one(channel)
        self._cache.clear()
        return Channel.from_document(channel)

    async def _refuse_taken_name(self, name: str, channel_id: str | None = None) -> None:
        named = await self._channels.find({"name": name, **LIVE}, projection={"_id": 1}).to_list(None)
        if any(found["_id"] != channel_id for found in named):
            raise ChannelExists(name)

    async def get(self, channel_id: str) -> Channel | None:
        return _channel_or_none(await self._channels.find_one({"_id": channel_id}))

    async def get_many(self, channel_ids: set[str]) -> dict[str, Channel]:
        """The channels of these ids that exist, by id, in one query (archived ones included)."""
        return {doc["_id"]: Channel.from_document(doc)
                async for doc in self._channels.find({"_id": {"$in": list(channel_ids)}})}

    async def names(self, channel_ids: Iterable[str | None]) -> dict[str, str]:
        """The names of these channels, archived ones included, by id (what a page shows for its ids)."""
        return await names_by_id(self._channels, channel_ids)

    async def list(self, limit: int, offset: int, include_archived: bool = False) -> list[Channel]:
        cursor = self._channels.find({} if include_archived else LIVE).sort("created_at", 1).skip(offset).limit(limit)
        return await self._records(cursor.to_list(length=limit))

    async def count(self) -> int:
        """How many live (not archived) channels there are: what `list` pages through."""
        return await self._channels.count_documents(LIVE)

    async def enabled(self) -> list[Channel]:
        """Every enabled live channel (a small collection), oldest first."""
        return await self._cache.get(("enabled",), lambda: self._records(self._channels.find(
            {"enabled": True, **LIVE}).sort("created_at", 1).to_list(None)))

    async def cooling_down(self, limit: int) -> list[Channel]:
        """The channels resting after failures in a row, the soonest back first, with when they
        serve again and the failures counted since (read as stored, not cached)."""
        return await self._records(self._channels.find({"cooldown_until": {"$gt": stamp()}})
                                   .sort("cooldown_until", 1).to_list(limit))

    async def update(self, channel_id: str, changes: dict[str, Any]) -> Channel | None:
        """None for a missing or archived channel; a rename to a live channel's name raises
        `ChannelExists`."""
        if "name" in changes:
            await self._refuse_taken_name(changes["name"], channel_id)
        self._cache.clear()
        return _channel_or_none(await self._channels.find_one_and_update(
            {"_id": channel_id, **LIVE}, {"$set": {**changes, "updated_at": stamp()}},
            return_document=ReturnDocument.AFTER))

    async def archive(self, channel_id: str) -> Channel | None:
        """Disables the channel and stamps `archived_at` (kept if archived already); None if missing."""
        await self._channels.update_one({"_id": channel_id, **LIVE},
                                        {"$set": {"enabled": False, "archived_at": stamp(), "updated_at": stamp()}})
        self._cache.clear()  # after the write: a read racing it cannot keep the channel serving
        return await self.get(channel_id)

    async def serving(self, model: str, kinds: tuple[str, ...]) -> list[Channel]:
        """The enabled channels of one of `kinds` serving `model` (either spelling)."""
        return await self._cache.get(("serving", model.removesuffix(SUBMIT_SUFFIX), kinds), lambda: self._records(
            self._channels.find({"models": {"$in": model_spellings(model)}, "kind": {"$in": list(kinds)},
                                 "enabled": True, **LIVE}).sort("created_at", 1).to_list(None)))

    async def for_group(self, group: str, kind: str) -> list[Channel]:
        """The enabled channels of `kind` serving a worker group."""
        return await self._cache.get(("for_group", group, kind), lambda: self._records(self._channels.find(
            {"group": group, "kind": kind, "enabled": True, **LIVE}).sort("created_at", 1).to_list(None)))

    async def record_failure(self, channel: Channel, threshold: int, cooldown_s: float) -> bool:
        """Counts a failure in a row; the `threshold`-th starts a cool-down (True when this one
        did). Counted in the channel document, so every gateway process sees the same state."""
        self._cache.clear()
        after = await self._channels.find_one_and_update(
            {"_id": channel.id}, {"$inc": {"consecutive_failures": 1}},
            projection={"consecutive_failures": 1}, return_document=ReturnDocument.AFTER)
        if after is None or threshold <= 0 or after["consecutive_failures"] < threshold:
            return False
        cooled = await self._channels.update_one(
            {"_id": channel.id, "consecutive_failures": after["consecutive_failures"]},
            {"$set": {"consecutive_failures": 0, "cooldown_until": stamp_in(cooldown_s), "updated_at": stamp()}})
        return cooled.modified_count == 1

    async def record_success(self, channel: Channel) -> None:
        if channel.consecutive_failures:  # most calls succeed on a healthy channel: no write
            self._cache.clear()
            await self._channels.update_one({"_id": channel.id}, {"$set": {"consecutive_failures": 0}})

    @staticmethod
    async def _records(documents: Awaitable[list[dict[str, Any]]]) -> list[Channel]:
        """The records of a query's documents (`documents`: the awaitable `to_list`)."""
        return [Channel.from_document(doc) for doc in await documents]
