"""Channel records for unit tests, built as the repository builds them (`Channel.from_document`),
with the name and kind every stored channel has filled in unless given."""
from __future__ import annotations

from typing import Any

from shared.channels import Channel


def channel_of(channel_id: str = "ch_1", **stored: Any) -> Channel:
    """The channel `channel_id` with these stored fields."""
    return Channel.from_document({"_id": channel_id, "name": channel_id, "kind": "custompass_async", **stored})
