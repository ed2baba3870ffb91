"""shared/consumption.py: the log record (`LogEntry`) as settlement writes it and the APIs show it,
and the consumption logs' one filter, page, totals and export, on the MongoDB stand-in."""
from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from pymongo import AsyncMongoClient

from shared.clock import now, stamp
from shared.consumption import ConsumptionLogs, LogEntry, LogFilter
from shared.ledger import SettleOutcome
from shared.task_record import Task


@pytest.fixture
async def logs(infra):
    client = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    db = client[f"consumption_{secrets.token_hex(4)}"]
    start = now()
    await db["consumption_logs"].insert_many([
        {"_id": f"task_{n}", "task_id": f"task_{n}", "user_id": "u" if n < 3 else "v", "model": "m1" if n % 2 else "m2",
         "hold": 10 * n + 1, "quota": 10 * n, "refund": 1, "status": "SUCCESS",
         "created_at": stamp(start + timedelta(seconds=n))} for n in range(5)])
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
    assert ([r.task_id for r in rows], total) == (["task_4", "task_3"], 4)
    assert [log.task_id async for log in repository.every(wanted)] == ["task_4", "task_3", "task_2", "task_1"]
    per_model = await repository.totals(wanted, "model", shown=5)
    assert [(t["_id"], t["count"], t["quota"], t["refund"]) for t in per_model] == [("m2", 2, 60, 2), ("m1", 2, 40, 2)]
    assert len(await repository.totals(wanted, "user_id", shown=1)) == 1
    assert (await repository.of_task("task_2")).quota == 20 and await repository.of_task("nope") is None


TASK = {"_id": "task_a", "user_id": "usr_a", "key_id": "key_a", "model": "m", "channel_id": "ch_a", "mode": "sync",
        "hold_id": "hold_task_a", "usage": {"total_tokens": 7}, "billing": {"mode": "per_call", "price": 6,
        "price_ratio": "0.8"}, "status": "SUCCESS", "created_at": "2026-12-03T08:00:00.000000Z",
        "finished_at": "2026-12-03T08:00:01.500000Z"}


def test_a_settled_task_logs_what_it_was_and_what_it_cost():
    entry = LogEntry.of_settled(Task.from_document(TASK), SettleOutcome("hold_task_a", "captured", 10, 6, 4, 0))
    stored = entry.document()
    assert {k: v for k, v in stored.items() if k != "created_at"} == {
        "task_id": "task_a", "user_id": "usr_a", "key_id": "key_a", "model": "m", "channel_id": "ch_a",
        "mode": "sync", "hold_id": "hold_task_a", "hold": 10, "quota": 6, "refund": 4, "debt": 0,
        "usage": {"total_tokens": 7}, "price_ratio": "0.8", "status": "SUCCESS", "fail_reason": None,
        "duration_s": 1.5}  # no review and no note: neither applies
    assert LogEntry.from_document({"_id": "task_a", **stored}) == entry
    assert entry.view() == {"id": "task_a", **stored, "receipt": "/api/task/task_a/receipt"}


def test_a_debt_is_explained_and_a_capped_charge_carries_its_review():
    review = {"state": "pending", "reason": "max_charge"}
    entry = LogEntry.of_settled(Task.from_document({**TASK, "review": review}), SettleOutcome("hold_task_a", "captured", 10, 10, 0, 3))
    assert entry.review == review and entry.note == (
        "shortfall of 3 could not be covered by the wallet and is recorded as debt")
    assert {"review", "note"} <= set(entry.document())
