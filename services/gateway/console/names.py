"""The names behind the ids a console page shows (users, channels, API keys): one `_id $in` query
per collection for the ids on the page, so lists say who and what instead of raw ids. An id whose
document has no name (or is gone) is shown as itself."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

# The field of a row that holds an id, and the collection that names it.
NAMED = {"user_id": "users", "channel_id": "channels", "key_id": "api_keys"}


async def names_of(db: AsyncDatabase, collection: str, ids: Iterable[str]) -> dict[str, str]:
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    return {doc["_id"]: doc.get("name") or doc["_id"]
            async for doc in db[collection].find({"_id": {"$in": wanted}}, {"name": 1})}


async def names_in(db: AsyncDatabase, rows: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """For each id field of NAMED: the names of the ids the rows hold (`names["user_id"][id]`)."""
    return {field: await names_of(db, collection, (row.get(field) for row in rows))
            for field, collection in NAMED.items()}
