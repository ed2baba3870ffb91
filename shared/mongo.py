"""MongoDB wiring through PyMongo's native async API."""
from __future__ import annotations

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from shared.mongo_metrics import CommandCounter
from shared.settings import CommonSettings
from shared.tracing.mongo_spans import command_listeners


def connect(settings: CommonSettings) -> tuple[AsyncMongoClient, AsyncDatabase]:
    # CommandCounter: every command this process sends shows on /metrics (custompass_mongo_*);
    # with tracing on, each is also a span (shared/tracing/mongo_spans.py).
    client: AsyncMongoClient = AsyncMongoClient(settings.mongodb_url, tz_aware=True,
                                                serverSelectionTimeoutMS=5000,
                                                event_listeners=[CommandCounter(), *command_listeners()])
    return client, client[settings.mongodb_database]


async def ping(db: AsyncDatabase) -> None:
    await db.command("ping")
