"""Pages of a collection, newest first: the one paging every list of the API and the console reads
through a repository (tasks, consumption logs, ledger entries), the one spelling of a period, and
the names behind the ids a page holds."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from shared.clock import stamp


async def newest_first(collection: AsyncCollection, query: dict[str, Any], limit: int, offset: int,
                       *, newest: str = "created_at") -> tuple[list[dict[str, Any]], int]:
    """One page of what `query` matches, by `newest` descending, and how many match in all."""
    total = await collection.count_documents(query)
    rows = await collection.find(query).sort(newest, -1).skip(offset).limit(limit).to_list(limit)
    return rows, total


async def names_by_id(collection: AsyncCollection, ids: Iterable[str | None]) -> dict[str, str]:
    """The `name` of each of these documents, by id, in one `_id $in` read projected to it; a
    document without a name is named by its id, and an id none has is left out."""
    wanted = sorted({found for found in ids if found})
    if not wanted:
        return {}
    return {doc["_id"]: doc.get("name") or doc["_id"]
            async for doc in collection.find({"_id": {"$in": wanted}}, {"name": 1})}


def within(since: datetime | None, until: datetime | None) -> dict[str, str]:
    """A stored stamp's range from `since` (included) to `until` (excluded); neither: empty, no bound."""
    return {**({"$gte": stamp(since)} if since else {}), **({"$lt": stamp(until)} if until else {})}
