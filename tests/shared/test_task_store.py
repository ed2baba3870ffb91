"""TaskStore's compare-and-swap transitions against the real MongoDB-wire server."""
from __future__ import annotations

import asyncio
import secrets

import pytest
from pymongo import AsyncMongoClient

from shared.status import TaskStatus
from shared.tasks import TaskStore


@pytest.fixture
async def store(infra):
    client = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    yield TaskStore(client[f"tasks_{secrets.token_hex(4)}"])
    await client.close()


async def submitted_task(store: TaskStore) -> dict:
    task_id = f"task_{secrets.token_hex(6)}"
    await store.insert({"_id": task_id, "status": TaskStatus.SUBMITTED.value, "progress": "0%"})
    return await store.get(task_id)


async def test_advance_records_a_change_of_status_or_progress(store):
    seen = await submitted_task(store)
    moved = await store.advance(seen, TaskStatus.IN_PROGRESS, "10%")
    assert (moved["status"], moved["progress"]) == ("IN_PROGRESS", "10%")
    further = await store.advance(moved, TaskStatus.IN_PROGRESS, "40%")
    assert further["progress"] == "40%"


async def test_advance_without_a_change_writes_nothing(store):
    seen = await submitted_task(store)
    assert await store.advance(seen, TaskStatus.SUBMITTED, "0%") is None
    assert "updated_at" not in await store.get(seen["_id"])


async def test_advance_loses_to_a_newer_state(store):
    """A poller holding an old view must not overwrite what another writer recorded since."""
    seen = await submitted_task(store)
    assert await store.finish(seen["_id"], TaskStatus.SUCCESS) is not None
    assert await store.advance(seen, TaskStatus.IN_PROGRESS, "50%") is None
    assert (await store.get(seen["_id"]))["status"] == "SUCCESS"


async def test_racing_advances_from_one_view_apply_once(store):
    seen = await submitted_task(store)
    outcomes = await asyncio.gather(*(store.advance(seen, TaskStatus.IN_PROGRESS, f"{p}%") for p in range(1, 21)))
    applied = [o for o in outcomes if o is not None]
    assert len(applied) == 1
    assert (await store.get(seen["_id"]))["progress"] == applied[0]["progress"]


async def test_finish_answers_the_status_it_left_and_the_task_as_stored(store):
    seen = await submitted_task(store)
    previous, finished = await store.finish(seen["_id"], TaskStatus.SUCCESS, result={"url": "u"})
    assert previous == seen["status"]
    assert finished == await store.get(seen["_id"])
    assert await store.finish(seen["_id"], TaskStatus.FAILURE) is None
