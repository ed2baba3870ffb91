"""Pages of a collection, newest first: the one paging every list of the API and the console reads
through a repository (tasks, consumption logs, ledger entries), and the one spelling of a period."""
from __future__ import annotations

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


def within(since: datetime | None, until: datetime | None) -> dict[str, str]:
    """A stored stamp's range from `since` (included) to `until` (excluded); neither: empty, no bound."""
    return {**({"$gte": stamp(since)} if since else {}), **({"$lt": stamp(until)} if until else {})}
