"""MongoDB wiring through PyMongo's native async API."""
from __future__ import annotations

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from shared.mongo_metrics import CommandCounter
from shared.settings import CommonSettings


def connect(settings: CommonSettings) -> tuple[AsyncMongoClient, AsyncDatabase]:
    # CommandCounter: every command this process sends shows on /metrics (custompass_mongo_*).
    client: AsyncMongoClient = AsyncMongoClient(settings.mongodb_url, tz_aware=True,
                                                serverSelectionTimeoutMS=5000,
                                                event_listeners=[CommandCounter()])
    return client, client[settings.mongodb_database]


async def ping(db: AsyncDatabase) -> None:
    await db.command("ping")
