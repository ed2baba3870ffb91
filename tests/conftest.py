"""Session fixtures: one set of real infrastructure, one shared system of all services."""
from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pymongo import AsyncMongoClient

from shared.ledger import Ledger
from tests.harness.api import AdminApi
from tests.harness.infra import provide_infra
from tests.harness.stack import SERVICES, Stack
from tools import devinfra

# Nothing a test run started outlives it; a parallel run fails unless every collected test ran.
pytest_plugins = ["tests.harness.reaping", "tests.harness.whole_run"]

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="session")
def infra() -> Iterator[devinfra.Infra]:
    with provide_infra(ARTIFACTS / f"infra-{os.getpid()}") as (found, source):
        print(f"\ninfrastructure: {source}: kafka={found.kafka_bootstrap_servers} mongo={found.mongodb_url}")
        yield found


@pytest.fixture(scope="session")
def stack(infra: devinfra.Infra) -> Iterator[Stack]:
    """All services, shared by the tests that do not kill processes."""
    system = Stack(infra, ARTIFACTS, services=SERVICES).start()
    yield system
    system.stop()


@pytest.fixture
def make_stack(infra: devinfra.Infra) -> Iterator:
    """A private system for a test that kills or restarts processes."""
    started: list[Stack] = []

    def factory(services=None, **extra_env: str) -> Stack:
        system = Stack(infra, ARTIFACTS, services=services or SERVICES, extra_env=extra_env)
        started.append(system)
        return system.start()

    yield factory
    for system in started:
        system.stop()


@pytest.fixture
async def admin(stack: Stack) -> AsyncIterator[AdminApi]:
    api = AdminApi(stack.gateway_url, stack.admin_token)
    yield api
    await api.close()


@pytest.fixture
async def mongo_db(infra: devinfra.Infra, stack: Stack):
    client = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    yield client[stack.env["MONGODB_DATABASE"]]
    await client.close()


@pytest.fixture
async def new_user(db):
    """Makes an active user with a wallet of `quota` (`await new_user(quota=100, status=...)`) in
    the test's private database: `db`, as the test's own directory defines it."""
    ledger = Ledger(db)
    await ledger.ensure_indexes()

    async def create(quota: int = 0, **fields) -> str:
        user_id = f"usr_{secrets.token_hex(4)}"
        await db.users.insert_one({"_id": user_id, "status": "active", "member_until": None, **fields})
        await ledger.open_wallet(user_id)
        if quota:
            await ledger.topup(f"topup:{user_id}:initial", user_id, quota)
        return user_id
    return create
