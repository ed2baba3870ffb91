from __future__ import annotations

import secrets

import pytest
from pymongo import AsyncMongoClient, monitoring

from shared.ledger import Ledger
from shared.mongo_metrics import collection_of


class SentCommands(monitoring.CommandListener):
    """The commands a test's client sends, as (command, collection), database-level ones left out."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        collection = collection_of(event.command_name, event.command)
        if collection:
            self.sent.append((event.command_name, collection))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@pytest.fixture
def commands() -> SentCommands:
    return SentCommands()


@pytest.fixture
async def db(infra, commands):
    client = AsyncMongoClient(infra.mongodb_url, tz_aware=True, event_listeners=[commands])
    yield client[f"ledger_{secrets.token_hex(4)}"]
    await client.close()


@pytest.fixture
async def ledger(db) -> Ledger:
    ledger = Ledger(db, lease_s=2.0)
    await ledger.ensure_indexes()
    return ledger


@pytest.fixture
async def patient_ledger(db) -> Ledger:
    """For tests of many concurrent operations on the same holds: a lease no loaded machine
    outlasts. With the short one, a batch slowed past it has some holds taken over by a concurrent
    caller, and then leaves its wallet ids in `pending` for `recover` (store.py `_close_all`), which
    is right but not what those tests are about."""
    ledger = Ledger(db, lease_s=60.0)
    await ledger.ensure_indexes()
    return ledger
