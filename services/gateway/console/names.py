"""The names behind the ids a console page shows (users, channels, API keys), so lists say who and
what instead of raw ids: one read per kind for the ids on the page, through the repository of each.
An id whose document has no name (or is gone) is shown as itself."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.users import UserRepository
from shared.channels import ChannelRepository


async def names_in(users: UserRepository, channels: ChannelRepository,
                   rows: list[Mapping[str, Any] | Any]) -> dict[str, dict[str, str]]:
    """The names of the ids the rows hold, by the field that holds them (`names["user_id"][id]`);
    a row is a mapping or a record (`Task`)."""
    def held(field: str) -> list[str | None]:
        return [row.get(field) if isinstance(row, Mapping) else getattr(row, field, None) for row in rows]
    return {"user_id": await users.names(held("user_id")), "channel_id": await channels.names(held("channel_id")),
            "key_id": await users.key_names(held("key_id"))}
