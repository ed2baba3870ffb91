"""shared/consumption.py's reads: the consumption logs' one filter, page, totals and export,
on the MongoDB stand-in."""
from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from pymongo import AsyncMongoClient

from shared.clock import now, stamp
from shared.consumption import ConsumptionLogs, LogFilter


@pytest.fixture
async def logs(infra):
    client = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    db = client[f"consumption_{secrets.token_hex(4)}"]
    start = now()
    await db["consumption_logs"].insert_many([
        {"_id": f"task_{n}", "user_id": "u" if n < 3 else "v", "model": "m1" if n % 2 else "m2", "quota": 10 * n,
         "refund": 1, "status": "SUCCESS", "created_at": stamp(start + timedelta(seconds=n))} for n in range(5)])
    yield ConsumptionLogs(db), start
    await client.drop_database(db.name)
    await client.close()


def test_a_filter_keeps_the_fields_given_and_bounds_the_period():
    since, until = now(), now() + timedelta(days=1)
    assert LogFilter().query() == {}
    assert LogFilter(user_id="u", model="", status="FAILURE", since=since, until=until).query() == {
        "user_id": "u", "status": "FAILURE", "created_at": {"$gte": stamp(since), "$lt": stamp(until)}}


async def test_page_totals_and_export_read_the_same_logs(logs):
    repository, start = logs
    wanted = LogFilter(since=start + timedelta(seconds=1))
    rows, total = await repository.page(wanted, limit=2, offset=0)
    assert ([r["_id"] for r in rows], total) == (["task_4", "task_3"], 4)
    assert [log["_id"] async for log in repository.every(wanted)] == ["task_4", "task_3", "task_2", "task_1"]
    per_model = await repository.totals(wanted, "model", shown=5)
    assert [(t["_id"], t["count"], t["quota"], t["refund"]) for t in per_model] == [("m2", 2, 60, 2), ("m1", 2, 40, 2)]
    assert len(await repository.totals(wanted, "user_id", shown=1)) == 1
    assert (await repository.of_task("task_2"))["quota"] == 20 and await repository.of_task("nope") is None
