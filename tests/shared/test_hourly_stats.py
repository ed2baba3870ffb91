"""The overview's counters against the real MongoDB stand-in: a settled task counts once in each
of its documents however often settlement reaches it, a crash between the count and the mark
included."""
from __future__ import annotations

import asyncio
import secrets

import pytest
from pymongo import AsyncMongoClient, monitoring

from services.settlement.settle import Settler
from shared import hourly_stats
from shared.clock import stamp
from shared.hourly_stats import HOUR, bucket_of, count_settled, forget_applied, read_counters, totals_by_key
from shared.ids import hold_id_for, new_task_id
from shared.ledger import Ledger, SettleOutcome
from shared.status import TaskStatus
from shared.task_record import Task
from shared.tasks import TaskStore
from tests.settlement.test_settle import Published, finished_task


@pytest.fixture
async def db(infra):
    client = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    yield client[f"stats_{secrets.token_hex(4)}"]
    await client.close()


def settled_task(status: str = "SUCCESS", model: str = "m", charged: int = 6) -> tuple[Task, SettleOutcome]:
    task_id = new_task_id()
    task = Task(id=task_id, user_id="usr_a", model=model, channel_id="ch_a", status=TaskStatus(status),
                finished_at="2026-12-02T16:05:00.000000Z")
    return task, SettleOutcome(hold_id_for(task_id), "captured", 10, charged, 10 - charged, 0)


class UpdatesSent(monitoring.CommandListener):
    """How many updates each `update` command carried."""

    def __init__(self) -> None:
        self.sent: list[int] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "update":
            self.sent.append(len(event.command["updates"]))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


async def by_model(db) -> dict:
    return {key: (t.tasks, t.charged, t.refunded, t.status)
            for key, t in totals_by_key(await read_counters(db, HOUR, "model", "2026-12-02T00:00:00.000000Z")).items()}


async def test_a_task_counted_again_before_it_was_marked_counts_once(db):
    first, second = settled_task(), settled_task("FAILURE", model="n", charged=0)
    await count_settled(db, [first, second])
    await count_settled(db, [first])  # a crash before the mark: settlement comes back to it
    await count_settled(db, [second, first])
    assert await by_model(db) == {"m": (1, 6, 4, {"SUCCESS": 1}), "n": (1, 0, 10, {"FAILURE": 1})}
    await forget_applied(db, [first[0], second[0]])
    assert all(doc["applied"] == [] for doc in await db[hourly_stats.COLLECTION].find().to_list(None))
    day = totals_by_key(await read_counters(db, hourly_stats.DAY, "all", "2026-12-02T00:00:00.000000Z"))
    assert (day["-"].tasks, day["-"].charged, day["-"].refunded) == (2, 6, 14)


async def test_a_batch_writes_each_document_once(infra):
    updates = UpdatesSent()
    client = AsyncMongoClient(infra.mongodb_url, tz_aware=True, event_listeners=[updates])
    db = client[f"stats_{secrets.token_hex(4)}"]
    await count_settled(db, [settled_task() for _ in range(5)])
    await client.close()
    assert updates.sent == [8]  # one update per document (hour and day, four dimensions), not per task


async def test_a_batch_partly_counted_already_counts_the_rest_once(db):
    counted, new = settled_task(), settled_task(charged=3)
    await count_settled(db, [counted])
    await count_settled(db, [counted, new])  # its documents' combined updates fail: one task at a time
    await count_settled(db, [new, counted])
    assert await by_model(db) == {"m": (2, 9, 11, {"SUCCESS": 2})}


async def test_concurrent_first_counts_of_one_document_all_count(db):
    tasks = [settled_task() for _ in range(6)]
    await asyncio.gather(*(count_settled(db, [task]) for task in tasks))
    assert await by_model(db) == {"m": (6, 36, 24, {"SUCCESS": 6})}


async def test_a_redelivered_settlement_counts_once(db):
    ledger, tasks = Ledger(db), TaskStore(db)
    user = f"usr_{secrets.token_hex(4)}"
    await db.users.insert_one({"_id": user, "status": "active", "member_until": None})
    await ledger.open_wallet(user)
    await ledger.topup(f"topup:{user}", user, 100)
    task = await finished_task(db, ledger, user, "SUCCESS")
    settler = Settler(db, tasks, ledger, Published())
    await ledger.capture_hold(task["hold_id"], 6)  # settled money, then a crash before the mark...
    await count_settled(db, [(Task.from_document(task), await ledger.capture_hold(task["hold_id"], 6))])
    assert (await settler.settle(task["_id"])).charged == 6  # ...so the sweeper settles it again
    assert await settler.settle(task["_id"]) is None  # and a later redelivery finds it settled
    users = totals_by_key(await read_counters(db, HOUR, "user", bucket_of(task["finished_at"], HOUR)))
    assert (users[user].tasks, users[user].charged, users[user].refunded) == (1, 6, 4)
    assert [doc["applied"] for doc in await db[hourly_stats.COLLECTION].find().to_list(None)] == [[]] * 8
