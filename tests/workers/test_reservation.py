"""A worker reserved for a task being submitted (services/gateway/workers/dispatcher.py
`reserve`), against a fake queue: it is nobody else's meanwhile, even when it says `ready` again;
a task never held frees it; it gets its task once held; one that left meanwhile gives the task
back to the queue instead."""
from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.gateway.workers.dispatcher import GroupDispatcher
from shared.status import TaskStatus
from shared.task_record import Task


class FakeQueue:
    def __init__(self) -> None:
        self.given_back: list[str] = []

    async def claim(self, group: str, worker_id: str) -> Task | None:
        return None  # nothing queued: the dispatcher's own loop finds nothing to hand out

    async def give_back(self, task: Task) -> None:
        self.given_back.append(task.id)


class FakeWorker:
    def __init__(self, worker_id: str) -> None:
        self.id, self.group, self.closed, self.reserved = worker_id, "g", False, False
        self.task: Task | None = None

    async def assign(self, task: Task) -> None:
        self.task = task


async def admitted(worker: FakeWorker) -> bool:
    return True


@pytest.fixture
async def dispatcher() -> AsyncIterator[tuple[GroupDispatcher, FakeQueue]]:
    queue = FakeQueue()
    dispatcher = GroupDispatcher("g", queue, admitted)
    yield dispatcher, queue
    await dispatcher.stop()


def task_for(worker: FakeWorker) -> Task:
    return Task(id="task_1", user_id="u", status=TaskStatus.IN_PROGRESS, group="g", worker_id=worker.id)


async def test_a_reserved_worker_is_nobody_elses_even_when_it_says_ready_again(dispatcher):
    groups, _ = dispatcher
    worker = FakeWorker("W1")
    groups.idle(worker)
    assert groups.reserve() is worker and worker.reserved
    groups.idle(worker)  # a second `ready` while its task is being held
    assert groups.reserve() is None


async def test_a_task_never_held_frees_its_worker(dispatcher):
    groups, _ = dispatcher
    worker = FakeWorker("W1")
    groups.idle(worker)
    assert groups.reserve() is worker
    groups.unreserve(worker)
    assert not worker.reserved and groups.reserve() is worker


async def test_a_held_task_goes_to_its_reserved_worker(dispatcher):
    groups, queue = dispatcher
    worker = FakeWorker("W1")
    groups.idle(worker)
    reserved = groups.reserve()
    await groups.hand_over(reserved, task_for(worker))
    assert worker.task is not None and worker.task.id == "task_1" and not worker.reserved
    assert queue.given_back == []


async def test_a_worker_that_left_while_its_task_was_held_gives_the_task_back_to_the_queue(dispatcher):
    groups, queue = dispatcher
    worker = FakeWorker("W1")
    groups.idle(worker)
    reserved = groups.reserve()
    worker.closed = True  # its socket closed during the hold
    await groups.hand_over(reserved, task_for(worker))
    assert worker.task is None and queue.given_back == ["task_1"]


async def test_closed_idle_workers_are_never_reserved(dispatcher):
    groups, _ = dispatcher
    gone, live = FakeWorker("W1"), FakeWorker("W2")
    groups.idle(gone)
    groups.idle(live)
    gone.closed = True
    assert groups.reserve() is live
