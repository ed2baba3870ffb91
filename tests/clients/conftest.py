"""The SDK's tests run against the shared stack: a user with a key, and a channel on the mock
upstream (the async flow's fixtures)."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.async_flow.conftest import async_channel, make_client, ready_worker, typed_task, upstream  # noqa: F401  (fixtures)


@dataclass
class Caller:
    user_id: str
    key: str
    url: str


@pytest.fixture
async def caller(make_client, stack):  # noqa: F811
    """A user with 100 quota units and an API key."""
    async def create(quota: int = 100, url: str | None = None) -> Caller:
        made = await make_client(quota=quota)
        return Caller(made.user_id, made.key, url or stack.gateway_url)
    return create
