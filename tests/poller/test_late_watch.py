"""Late results (shared/late_results.py, services/poller/late_watch.py) against the real
MongoDB-wire server: a report about a task failed on timeout is recorded once, as it arrives,
and never changes the task's status or settlement; the late watch asks, reschedules and ends."""
from __future__ import annotations

import dataclasses
import secrets
from decimal import Decimal

import pytest
from pymongo import AsyncMongoClient

from services.poller.late_watch import LateWatcher, LateWatches
from shared.providers.base import Observation
from shared.providers.observations import apply_late_observation, apply_observation
from shared.result_storage.copier import KeptResult
from shared.status import TaskStatus
from shared.task_record import Task
from shared.task_views import pass_view, task_api_view
from shared.tasks import TaskStore
from shared.upstream.errors import UpstreamUnreachable
from tests.channel_records import channel_of

CHANNEL = channel_of("ch_late", late_result="deliver_free",
                     upstream_cost_unit={"name": "USD", "quota_per_unit": "1000"})
DOWN = dataclasses.replace(CHANNEL, id="ch_down")
SETTLED = {"outcome": "voided", "hold": 10, "charged": 0, "refunded": 10, "debt": 0}


class KeepAsIs:
    async def keep(self, channel, task_id, result):
        return KeptResult(result)


class NoEvents:
    async def publish(self, event):
        raise AssertionError(f"a late report publishes nothing: {event}")


@pytest.fixture
async def db(infra):
    client = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    yield client[f"late_{secrets.token_hex(4)}"]
    await client.close()


async def timed_out(store: TaskStore, reason: str = "timeout", channel_id: str = CHANNEL.id) -> Task:
    task_id = f"task_{secrets.token_hex(6)}"
    await store.insert(Task(id=task_id, user_id="u", channel_id=channel_id, status=TaskStatus.FAILURE,
                            created_at="2026-12-02T09:00:00.000000Z",
                            fail_reason=reason, error=reason, upstream_task_id=f"up_{task_id}",
                            settled=True, settlement=SETTLED))
    return await store.record(task_id)


def done(task: Task, status: TaskStatus = TaskStatus.SUCCESS, cost: str | None = "0.004") -> Observation:
    return Observation(task.upstream_task_id, status, result={"url": "https://example.invalid/v.mp4"},
                       upstream_cost=Decimal(cost) if cost else None, error="boom")


async def test_a_late_success_is_recorded_once_and_the_task_stays_failed_and_refunded(db):
    store = TaskStore(db)
    task = await timed_out(store)
    late = await apply_late_observation(store, KeepAsIs(), CHANNEL, task, done(task))
    assert late["status"] == "late_success" and late["delivery"] == "deliver_free"
    assert late["result"] == {"url": "https://example.invalid/v.mp4"}
    assert late["upstream_cost"] == {"amount": "0.004", "unit": "USD", "quota": 4}
    again = await store.record(task.id)
    for report in (done(task), done(task, cost="0.009"), done(task, TaskStatus.FAILURE)):  # redelivered, differing
        assert await apply_late_observation(store, KeepAsIs(), CHANNEL, again, report) is None
        assert await apply_late_observation(store, KeepAsIs(), CHANNEL, task, report) is None  # a stale view too
    stored = await store.tasks.find_one({"_id": task.id})
    assert stored["late_result"] == late
    assert (stored["status"], stored["fail_reason"], stored["settlement"]) == ("FAILURE", "timeout", SETTLED)


async def test_a_late_failure_is_recorded_as_such_and_moves_nothing(db):
    store = TaskStore(db)
    task = await timed_out(store)
    late = await apply_late_observation(store, KeepAsIs(), dataclasses.replace(CHANNEL, late_result=None), task,
                                        done(task, TaskStatus.FAILURE, cost=None))
    assert (late["status"], late["error"], late["delivery"]) == ("late_failure", "boom", "drop")
    assert "result" not in late and "upstream_cost" not in late
    assert (await store.tasks.find_one({"_id": task.id}))["settlement"] == SETTLED


async def test_under_drop_the_operator_has_the_result_and_the_owner_does_not_see_it(db):
    store = TaskStore(db)
    task = await timed_out(store)
    await apply_late_observation(store, KeepAsIs(), dataclasses.replace(CHANNEL, late_result="drop"), task, done(task))
    stored = await store.tasks.find_one({"_id": task.id})
    assert stored["late_result"]["result"] == {"url": "https://example.invalid/v.mp4"}
    record = Task.from_document(stored)
    assert "late_result" not in pass_view(record) and "lateResult" not in task_api_view(record)


async def test_news_of_a_terminal_task_through_apply_observation(db):
    """A webhook's path: a final word on a timed-out task is a late result, published nowhere; a
    'processing' report revives no terminal task; another failure takes no late result."""
    store = TaskStore(db)
    task = await timed_out(store)
    processing = Observation(task.upstream_task_id, TaskStatus.IN_PROGRESS, progress="50%")
    assert await apply_observation(store, NoEvents(), KeepAsIs(), CHANNEL, task, processing) is None
    assert await apply_observation(store, NoEvents(), KeepAsIs(), CHANNEL, task, done(task)) is None
    stored = await store.tasks.find_one({"_id": task.id})
    assert stored["status"] == "FAILURE" and stored["late_result"]["status"] == "late_success"
    upstream_failed = await timed_out(store, reason="upstream_failed")
    assert await apply_late_observation(store, KeepAsIs(), CHANNEL, upstream_failed, done(upstream_failed)) is None
    assert "late_result" not in await store.tasks.find_one({"_id": upstream_failed.id})


async def test_the_watch_asks_reschedules_and_ends(db):
    store, watches = TaskStore(db), LateWatches(db)
    await watches.ensure_indexes()
    finished, pending = [await timed_out(store) for _ in range(2)]
    failing = await timed_out(store, channel_id=DOWN.id)
    answers = {finished.id: done(finished),
               pending.id: Observation(pending.upstream_task_id, TaskStatus.IN_PROGRESS)}
    asked: list[list[str]] = []

    async def ask(channel, batch):
        asked.append(sorted(t.id for t in batch))
        if channel is DOWN:
            raise UpstreamUnreachable("upstream down")
        return {t.id: answers[t.id] for t in batch if t.id in answers}

    async def channels(ids):
        return {c.id: c for c in (CHANNEL, DOWN) if c.id in ids}

    watcher = LateWatcher(watches, store, KeepAsIs(), ask, default_window_s=0)
    await watcher.watch(CHANNEL, finished, poll_interval_s=1)
    assert await watches.watches.count_documents({}) == 0  # the default window 0: nothing watched
    for task in (finished, pending):
        await watcher.watch(dataclasses.replace(CHANNEL, late_watch_s=3600), task, poll_interval_s=0)
        await watcher.watch(dataclasses.replace(CHANNEL, late_watch_s=3600), task, poll_interval_s=0)  # idempotent
    await watches.start(failing.id, DOWN.id, 3600, 0)
    await watches.watches.update_many({}, {"$set": {"due_at": "2000-01-01T00:00:00.000000Z"}})  # due now
    assert await watcher.sweep(channels, 100, 60, "lease-1") == 1
    assert sorted(asked) == sorted([sorted([finished.id, pending.id]), [failing.id]])
    assert (await store.tasks.find_one({"_id": finished.id}))["late_result"]["status"] == "late_success"
    left = {w["_id"]: w async for w in watches.watches.find({})}
    assert set(left) == {pending.id, failing.id}  # asked again later, at the watch's pace
    assert all(w["lease_until"] == 0.0 and w["due_at"] <= w["until"] for w in left.values())
    await watches.watches.update_many({}, {"$set": {"until": "2000-01-01T00:00:00.000000Z",
                                                     "due_at": "2000-01-01T00:00:00.000000Z"}})
    assert await watcher.sweep(channels, 100, 60, "lease-2") == 0  # the window closed: removed unasked
    assert len(asked) == 2 and await watches.watches.count_documents({}) == 0
