from __future__ import annotations

import secrets

import pytest
from pymongo import AsyncMongoClient

from shared.ledger import Ledger


@pytest.fixture
async def db(infra):
    client = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    yield client[f"ledger_{secrets.token_hex(4)}"]
    await client.close()


@pytest.fixture
async def ledger(db) -> Ledger:
    ledger = Ledger(db, lease_s=2.0)
    await ledger.ensure_indexes()
    return ledger


@pytest.fixture
def new_user(db, ledger):
    async def create(quota: int = 0, **fields) -> str:
        user_id = f"usr_{secrets.token_hex(4)}"
        await db.users.insert_one({"_id": user_id, "status": "active", "member_until": None, **fields})
        await ledger.open_wallet(user_id)
        if quota:
            await ledger.topup(f"topup:{user_id}:initial", user_id, quota)
        return user_id
    return create
