"""Slots for tasks in flight against a real MongoDB-wire server: exact under concurrency,
freed once their task is terminal (or never appeared)."""
from __future__ import annotations

import asyncio
import time

from services.gateway.in_flight import ORPHAN_AFTER_S, TIDY_AT, InFlightSlots


async def test_concurrent_tasks_never_take_more_slots_than_the_cap(db):
    slots = InFlightSlots(db)
    taken = await asyncio.gather(*(slots.take("key:a", f"task_{i}", 5) for i in range(50)))
    assert sum(taken) == 5
    doc = await db["in_flight"].find_one({"_id": "key:a"})
    assert doc["count"] == len(doc["tasks"]) == 5


async def test_a_slot_frees_when_its_task_turns_terminal(db):
    slots = InFlightSlots(db)
    await db.tasks.insert_many([{"_id": "task_1", "status": "SUBMITTED"}, {"_id": "task_2", "status": "SUBMITTED"}])
    assert await slots.take("key:a", "task_1", 2) and await slots.take("key:a", "task_2", 2)
    assert not await slots.take("key:a", "task_3", 2)
    await db.tasks.update_one({"_id": "task_1"}, {"$set": {"status": "SUCCESS"}})
    assert await slots.take("key:a", "task_3", 2)
    assert await slots.count("key:a") == 2


async def test_a_task_takes_one_slot_however_often_it_asks(db):
    slots = InFlightSlots(db)
    await db.tasks.insert_one({"_id": "task_1", "status": "SUBMITTED"})
    assert await slots.take("key:a", "task_1", 3)
    await slots.give_back("key:a", "task_1")
    await slots.give_back("key:a", "task_1")  # a second give-back frees nothing more
    assert await slots.count("key:a") == 0
    assert (await db["in_flight"].find_one({"_id": "key:a"}))["count"] == 0


async def test_a_slot_whose_task_never_appeared_frees_after_a_while(db):
    slots = InFlightSlots(db)
    assert await slots.take("key:a", "task_lost", 1)
    assert not await slots.take("key:a", "task_2", 1)  # young: its task may still be being stored
    stale = f"task_lost@{time.time() - ORPHAN_AFTER_S - 1:.0f}"
    await db["in_flight"].update_one({"_id": "key:a"}, {"$set": {"tasks": [stale]}})
    assert await slots.take("key:a", "task_2", 1)


async def test_finished_tasks_are_tidied_away_long_before_a_high_cap(db):
    slots = InFlightSlots(db)
    for i in range(TIDY_AT + 20):
        await db.tasks.insert_one({"_id": f"task_{i}", "status": "SUCCESS"})  # each ends before the next
        assert await slots.take("key:a", f"task_{i}", 100_000)
    assert len((await db["in_flight"].find_one({"_id": "key:a"}))["tasks"]) <= TIDY_AT
