"""shared/task_reads.py: the task lists' one filter and page, read on the MongoDB stand-in."""
from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from pymongo import AsyncMongoClient

from shared.clock import now, stamp
from shared.task_reads import TaskFilter, TaskReads


@pytest.fixture
async def db(infra):
    client = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    db = client[f"task_reads_{secrets.token_hex(4)}"]
    yield db
    await client.drop_database(db.name)
    await client.close()


def test_an_empty_filter_reads_every_task_and_each_field_given_narrows_it():
    assert TaskFilter().query() == {}
    assert TaskFilter(user_id="", model="", statuses=()).query() == {}  # a blank form field: no filter
    since = now()
    assert TaskFilter(user_id="u", api="task_api", statuses=("SUCCESS",), task_type="clean", since=since).query() == {
        "user_id": "u", "api": "task_api", "status": "SUCCESS", "task_type": "clean",
        "created_at": {"$gte": stamp(since)}}
    assert TaskFilter(statuses=("SUBMITTED", "QUEUED")).query() == {"status": {"$in": ["SUBMITTED", "QUEUED"]}}
    assert TaskFilter(channel_kind="replicate", until=since).query() == {"channel_kind": "replicate",
                                                                         "created_at": {"$lt": stamp(since)}}


async def test_a_page_is_newest_first_with_the_count_of_all_it_matches(db):
    start = now()
    await db["tasks"].insert_many([
        {"_id": f"t{n}", "user_id": "u" if n != 4 else "other", "status": "SUCCESS" if n % 2 else "FAILURE",
         "created_at": stamp(start + timedelta(seconds=n))} for n in range(6)])
    reads = TaskReads(db)
    rows, total = await reads.page(TaskFilter(user_id="u"), limit=2, offset=1)
    assert ([r.id for r in rows], total) == (["t3", "t2"], 5)
    rows, total = await reads.page(TaskFilter(user_id="u", statuses=("FAILURE",)), limit=10, offset=0)
    assert ([r.id for r in rows], total) == (["t2", "t0"], 2)
    rows, total = await reads.page(TaskFilter(since=start + timedelta(seconds=4)), limit=10, offset=0)
    assert ([r.id for r in rows], total) == (["t5", "t4"], 2)
    assert sorted(t.id for t in await reads.owned(["t1", "t4", "gone"], "u")) == ["t1"]


async def test_the_live_count_stops_at_its_cap(db):
    await db["tasks"].insert_many([{"_id": f"live{n}", "status": status} for n, status in
                                   enumerate(["NOT_START", "SUBMITTED", "IN_PROGRESS", "UNKNOWN", "SUCCESS"])])
    reads = TaskReads(db)
    assert await reads.count_live(100) == 4
    assert await reads.count_live(2) == 2
