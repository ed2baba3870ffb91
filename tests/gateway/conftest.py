from __future__ import annotations

import secrets

import pytest
from pymongo import AsyncMongoClient


@pytest.fixture
async def db(infra):
    """A private database on the session's MongoDB, for the gateway's stores tested in-process."""
    client = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    yield client[f"gateway_{secrets.token_hex(4)}"]
    await client.close()
