"""TaskStore's compare-and-swap transitions against the real MongoDB-wire server."""
from __future__ import annotations

import asyncio
import secrets

import pytest
from pymongo import AsyncMongoClient

from shared.status import TaskStatus
from shared.due_loop import DueClaim
from shared.task_record import Task
from shared.tasks import POLLED_STATUS_RUNS, POLLED_STATUSES, PollLease, SeenChange, TaskStore


@pytest.fixture
async def store(infra):
    client = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    yield TaskStore(client[f"tasks_{secrets.token_hex(4)}"])
    await client.close()


async def stored(store: TaskStore, task_id: str) -> dict:
    """The document as stored, with what the record leaves out (the schedule, the leases)."""
    return await store.tasks.find_one({"_id": task_id})


async def submitted_task(store: TaskStore) -> Task:
    task_id = f"task_{secrets.token_hex(6)}"
    await store.insert(Task(id=task_id, user_id="usr_1", status=TaskStatus.SUBMITTED, progress="0%"))
    return await store.record(task_id)


async def test_a_new_task_is_stored_as_its_fields_with_its_schedule(store):
    task = Task(id="task_new", user_id="usr_1", status=TaskStatus.NOT_START, model="m", hold_id="hold_task_new",
                hold_amount=5, request={"body": "{}", "query": ""})
    await store.insert(task, next_poll_at="2030-01-01T00:00:00Z")
    doc = await stored(store, "task_new")
    assert (doc["next_poll_at"], doc["poll_lease_until"], doc["settled"]) == ("2030-01-01T00:00:00Z", 0.0, False)
    assert "callback_url" not in doc and "unsettled_since" not in doc  # None is left out; live is not unsettled
    assert await store.record("task_new") == task


async def test_advance_records_a_change_of_status_or_progress(store):
    seen = await submitted_task(store)
    moved = await store.advance(seen, TaskStatus.IN_PROGRESS, "10%")
    assert (moved.status, moved.progress) == (TaskStatus.IN_PROGRESS, "10%")
    further = await store.advance(moved, TaskStatus.IN_PROGRESS, "40%")
    assert further.progress == "40%"


async def test_advance_without_a_change_writes_nothing(store):
    seen = await submitted_task(store)
    assert await store.advance(seen, TaskStatus.SUBMITTED, "0%") is None
    assert "updated_at" not in await stored(store, seen.id)


async def test_advance_loses_to_a_newer_state(store):
    """A poller holding an old view must not overwrite what another writer recorded since."""
    seen = await submitted_task(store)
    assert await store.finish(seen.id, TaskStatus.SUCCESS) is not None
    assert await store.advance(seen, TaskStatus.IN_PROGRESS, "50%") is None
    assert (await store.record(seen.id)).status is TaskStatus.SUCCESS


async def test_racing_advances_from_one_view_apply_once(store):
    seen = await submitted_task(store)
    outcomes = await asyncio.gather(*(store.advance(seen, TaskStatus.IN_PROGRESS, f"{p}%") for p in range(1, 21)))
    applied = [o for o in outcomes if o is not None]
    assert len(applied) == 1
    assert (await store.record(seen.id)).progress == applied[0].progress


async def test_finish_answers_the_status_it_left_and_the_task_as_stored(store):
    seen = await submitted_task(store)
    previous, finished = await store.finish(seen.id, TaskStatus.SUCCESS, result={"url": "u"})
    assert previous is seen.status
    assert finished == await store.record(seen.id)
    assert (finished.result, finished.progress) == ({"url": "u"}, "100%")
    assert await store.finish(seen.id, TaskStatus.FAILURE) is None


class CountingUpdates:
    """The update commands a store's collection is sent (one bulk write is one)."""
    def __init__(self, store: TaskStore) -> None:
        self.bulk_writes, self._bulk_write = 0, store.tasks.bulk_write
        store.tasks.bulk_write = self._counted

    async def _counted(self, *args, **kwargs):
        self.bulk_writes += 1
        return await self._bulk_write(*args, **kwargs)


async def test_change_many_writes_a_batch_of_changes_in_one_round_trip_as_advance_and_finish_would(store):
    seen = [await submitted_task(store) for _ in range(4)]
    updates = CountingUpdates(store)
    made = await store.change_many([
        SeenChange(seen[0], TaskStatus.IN_PROGRESS, progress="30%"),
        SeenChange(seen[1], TaskStatus.SUCCESS, fields={"result": {"url": "u"}}),
        SeenChange(seen[2], TaskStatus.FAILURE, fields={"fail_reason": "upstream", "error": "no"}),
        SeenChange(seen[3], TaskStatus.SUBMITTED, progress="0%")])  # the same as seen: nothing to write
    assert updates.bulk_writes == 1
    assert [m and m[0] for m in made] == [TaskStatus.SUBMITTED] * 3 + [None]
    for (_, after), task in zip(made[:3], seen):
        assert after == await store.record(task.id)  # the answer is the task as stored
    assert (made[0][1].status, made[0][1].progress) == (TaskStatus.IN_PROGRESS, "30%")
    assert (made[1][1].result, made[1][1].progress) == ({"url": "u"}, "100%")
    assert "next_poll_at" not in await stored(store, seen[1].id)
    assert "updated_at" not in await stored(store, seen[3].id)


async def test_change_many_leaves_a_task_that_moved_on_to_its_newer_state_but_still_ends_an_active_one(store):
    """A batch whose tasks changed since they were seen (a webhook, another poller): an ended
    task stays as it ended, a progress report loses to a newer state, and an ending seen from an
    older progress still ends the task, once."""
    ended, progressed, ending = [await submitted_task(store) for _ in range(3)]
    await store.finish(ended.id, TaskStatus.FAILURE, fail_reason="timeout", error="Task timeout")
    await store.advance(progressed, TaskStatus.IN_PROGRESS, "50%")
    await store.advance(ending, TaskStatus.IN_PROGRESS, "90%")
    made = await store.change_many([
        SeenChange(ended, TaskStatus.SUCCESS, fields={"result": {"url": "late"}}),
        SeenChange(progressed, TaskStatus.IN_PROGRESS, progress="20%"),
        SeenChange(ending, TaskStatus.SUCCESS, fields={"result": {"url": "u"}})])
    assert made[:2] == [None, None]
    previous, after = made[2]
    assert previous is TaskStatus.IN_PROGRESS and after == await store.record(ending.id)
    assert (await store.record(ended.id)).status is TaskStatus.FAILURE
    assert (await store.record(progressed.id)).progress == "50%"
    assert await store.change_many([SeenChange(ending, TaskStatus.FAILURE, fields={"fail_reason": "x"})]) == [None]


async def test_change_many_with_a_sweeps_lease_gives_it_back_in_the_same_write(store):
    tasks = [await submitted_task(store) for _ in range(4)]
    for task in tasks:
        await store.tasks.update_one({"_id": task.id}, {"$set": {"next_poll_at": "2000-01-01T00:00:00Z"}})
    seen = {t.id: t for t in (await store.claim_due(10, 60.0, "sweep")).leased}
    advancing, ending, taken_over, ending_taken_over = (seen[t.id] for t in tasks)
    # Another sweep took two of the leases over (say this one stalled past its lease).
    await store.tasks.update_many({"_id": {"$in": [taken_over.id, ending_taken_over.id]}},
                                  {"$set": {"poll_lease": "another sweep"}})
    updates = CountingUpdates(store)
    made = await store.change_many([
        SeenChange(advancing, TaskStatus.IN_PROGRESS, progress="10%"),
        SeenChange(ending, TaskStatus.SUCCESS),
        SeenChange(taken_over, TaskStatus.IN_PROGRESS, progress="10%"),
        SeenChange(ending_taken_over, TaskStatus.SUCCESS)], PollLease("sweep", "2030-01-01T00:00:00Z"))
    assert updates.bulk_writes == 1
    assert [m is not None for m in made] == [True, True, False, True]  # the last one by `finish` alone
    advanced, ended, left, ended_anyway = [await stored(store, t.id) for t in tasks]
    assert (advanced["progress"], advanced["next_poll_at"], advanced["poll_lease_until"], advanced["poll_errors"]) \
        == ("10%", "2030-01-01T00:00:00Z", 0.0, 0)
    assert ended["status"] == "SUCCESS" and "next_poll_at" not in ended and ended["poll_lease_until"] == 0.0
    assert (left["progress"], left["poll_lease"]) == ("0%", "another sweep")  # its new holder's to poll
    assert ended_anyway["status"] == "SUCCESS" and "next_poll_at" not in ended_anyway


async def test_racing_batches_from_one_view_end_each_task_once(store):
    seen = [await submitted_task(store) for _ in range(5)]
    batches = await asyncio.gather(*(store.change_many([SeenChange(task, TaskStatus.SUCCESS) for task in seen])
                                     for _ in range(4)))
    for index in range(len(seen)):
        assert sum(batch[index] is not None for batch in batches) == 1


async def test_release_many_gives_back_a_batch_of_leases_and_no_schedule_to_a_finished_task(store):
    tasks = [await submitted_task(store) for _ in range(3)]
    for task in tasks:
        await store.tasks.update_one({"_id": task.id}, {"$set": {"next_poll_at": "2000-01-01T00:00:00Z"}})
    leased = (await store.claim_due(10, 60.0, "sweep")).leased
    assert {t.id for t in leased} == {t.id for t in tasks}
    await store.finish(tasks[0].id, TaskStatus.SUCCESS)
    await store.release_many("sweep", [(tasks[0].id, None, {"poll_errors": 0})] + [
        (t.id, "2030-01-01T00:00:00Z", {"poll_errors": 2}) for t in tasks[1:]])
    finished, *polled = [await stored(store, t.id) for t in tasks]
    assert "next_poll_at" not in finished and finished["poll_lease_until"] == 0.0
    assert [(t["next_poll_at"], t["poll_lease_until"], t["poll_errors"]) for t in polled] == \
        [("2030-01-01T00:00:00Z", 0.0, 2)] * 2
    await store.release_many("another sweep", [(polled[0]["_id"], "2040-01-01T00:00:00Z", {})])
    assert (await stored(store, polled[0]["_id"]))["next_poll_at"] == "2030-01-01T00:00:00Z"  # not its lease


async def test_claim_due_leases_live_due_tasks_longest_due_first_and_each_to_one_sweep(store):
    due = {status: f"task_{status.value.lower()}" for status in TaskStatus}
    for n, (status, task_id) in enumerate(due.items()):
        await store.insert(Task(id=task_id, user_id="usr_1", status=status), next_poll_at=f"2000-01-01T00:00:{n:02d}Z")
    await store.insert(Task(id="task_later", user_id="usr_1", status=TaskStatus.SUBMITTED),
                       next_poll_at="2999-01-01T00:00:00Z")
    polled = [due[status] for status in TaskStatus if status.value in POLLED_STATUSES]

    first_two = await store.claim_due(2, 60.0, "sweep one")
    assert {t.id for t in first_two.leased} == set(polled[:2])  # the two due longest
    assert first_two.earliest_due == "2000-01-01T00:00:00Z"
    racing = await asyncio.gather(*(store.claim_due(10, 60.0, f"sweep {n}") for n in range(2, 6)))
    taken = [t.id for claim in racing for t in claim.leased]
    assert sorted(taken) == sorted(polled[2:])  # each to one sweep; never an ended task, nor one not due
    assert (await store.claim_due(10, 60.0, "sweep six")).leased == []
    for task_id in polled:
        await store.finish(task_id, TaskStatus.FAILURE)
    assert await store.claim_due(10, 60.0, "sweep seven") == DueClaim([], "2999-01-01T00:00:00Z")  # the one later
    await store.finish("task_later", TaskStatus.FAILURE)
    assert await store.claim_due(10, 60.0, "sweep eight") == DueClaim([], None)  # nothing live


async def test_records_and_statuses_read_the_tasks_that_exist(store):
    live, ended = await submitted_task(store), await submitted_task(store)
    await store.finish(ended.id, TaskStatus.FAILURE)
    assert await store.statuses([live.id, ended.id, "task_gone"]) == {
        live.id: TaskStatus.SUBMITTED, ended.id: TaskStatus.FAILURE}
    assert {t.id for t in await store.records([live.id, ended.id, "task_gone"])} == {live.id, ended.id}
    assert [t.id for t in await store.records([live.id, ended.id], [TaskStatus.FAILURE])] == [ended.id]


def test_the_polled_statuses_are_read_as_runs_of_the_status_index_that_hold_no_ended_status():
    covered = set()
    for run in POLLED_STATUS_RUNS:
        names = [s.value for s in TaskStatus if run["$gte"] <= s.value <= run["$lte"]]
        assert set(names) <= set(POLLED_STATUSES)
        covered |= set(names)
    assert covered == set(POLLED_STATUSES) and len(POLLED_STATUS_RUNS) < len(POLLED_STATUSES)


async def test_unsettled_terminal_finds_ended_tasks_until_they_are_settled(store):
    ended, live = await submitted_task(store), await submitted_task(store)
    await store.finish(ended.id, TaskStatus.FAILURE)
    assert await store.unsettled_terminal(3600, 10) == []  # ended just now: its event may still come
    assert [t.id for t in await store.unsettled_terminal(-1, 10)] == [ended.id]  # never the live one
    await store.mark_settled_many([(ended.id, {"outcome": "voided"})])
    assert await store.unsettled_terminal(-1, 10) == []
    assert "unsettled_since" not in await stored(store, ended.id) and live.status is TaskStatus.SUBMITTED


async def test_a_task_stored_already_ended_awaits_settlement_too(store):
    await store.insert(Task(id="task_ended", user_id="usr_1", status=TaskStatus.SUCCESS,
                            finished_at="2000-01-01T00:00:00Z"))
    await store.insert(Task(id="task_settled", user_id="usr_1", status=TaskStatus.SUCCESS, settled=True))
    assert [t.id for t in await store.unsettled_terminal(60, 10)] == ["task_ended"]
