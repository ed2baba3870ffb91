"""This gateway process's share of worker dispatch: its open worker sockets, a dispatcher per
group, and the sync callers waiting for results. What other instances must see (the queue,
who is online, results) lives in MongoDB; this only adds the fast path within one process.

A dispatcher claims only when woken: a worker of this process turned idle, a task was queued
here (`dispatch`, which also signals the other instances: workers/signals.py), another instance
signalled one (`woken`), or the slow `recheck` found work waiting (a missed signal). No claim is
issued just in case."""
from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
from typing import Any

from services.gateway import metrics
from services.gateway.workers.admission import DispatchAdmission
from services.gateway.workers.connection import WorkerConnection
from services.gateway.workers.dispatcher import GroupDispatcher
from services.gateway.workers.queue import WorkQueue, now_ms
from services.gateway.workers.registry import WorkerRegistry
from services.gateway.workers.revocation import TokenRevocation
from services.gateway.workers.waiters import ResultWaiters
from shared.events import WorkerTokenRevoked, WorkQueued
from shared.kafka import EventPublisher
from shared.status import TaskStatus
from shared.task_events import fail_and_announce, finish_and_announce
from shared.task_record import Task
from shared.tasks import TaskStore

WORKER_DISCONNECTED = "worker_disconnected"
log = logging.getLogger(__name__)


class WorkerHub:
    def __init__(self, tasks: TaskStore, publisher: EventPublisher, queue: WorkQueue,
                 registry: WorkerRegistry, revocation: TokenRevocation, stale_queue_entry_ms: int = 0) -> None:
        self._tasks, self._publisher = tasks, publisher
        self.queue, self.registry, self.revocation = queue, registry, revocation
        self.admission = DispatchAdmission(registry, queue)
        # An entry older than the shortest task timeout may belong to a task timed out meanwhile.
        self._stale_queue_entry_ms = stale_queue_entry_ms
        self._open: set[WorkerConnection] = set()
        self.waiters = ResultWaiters(tasks)
        self._dispatchers: dict[str, GroupDispatcher] = {}
        self._numbers = itertools.count(1)
        self._known_groups: set[str] = set()  # once reported, a drained queue reads 0
        self._signalling: set[asyncio.Task] = set()  # signals being sent (held so none is collected)

    def new_worker_id(self) -> str:
        """The seed's shape, `W1-1234abcd`: a per-process number and a random suffix."""
        return f"W{next(self._numbers)}-{secrets.token_hex(4)}"

    async def connected(self, worker: WorkerConnection) -> None:
        self._open.add(worker)
        await self.registry.add(worker.id, worker.group)
        metrics.WS_WORKERS.labels(worker.group).inc()
        self._dispatcher(worker.group)  # from now on its queue depth is reported, even when 0

    def idle(self, worker: WorkerConnection) -> None:
        self._dispatcher(worker.group).idle(worker)

    async def disconnected(self, worker: WorkerConnection) -> None:
        """A worker that leaves mid-task fails it (`Worker disconnected`) and its hold is
        refunded: the work may have had effects already, so it is never run a second time."""
        worker.closed = True
        self._open.discard(worker)
        self._dispatcher(worker.group).forget(worker)
        metrics.WS_WORKERS.labels(worker.group).dec()
        task, worker.task = worker.task, None
        await asyncio.shield(self._leave(worker, task))

    async def report(self, task: Task, message: dict[str, Any]) -> None:
        """The worker's result; ignored when the task ended meanwhile (e.g. timed out)."""
        duration = message.get("duration")
        fields = {"worker_duration_ms": duration} if isinstance(duration, int | float) else {}
        if message["type"] == "task_complete":
            done = await finish_and_announce(self._tasks, self._publisher, task.id, TaskStatus.SUCCESS,
                                             result=message.get("result"), **fields)
        else:
            done = await fail_and_announce(self._tasks, self._publisher, task.id, "worker_error",
                                           str(message.get("error") or "the worker reported an error"))
        if done is not None:
            self.waiters.finished(done)

    def reserve(self, group: str) -> WorkerConnection | None:
        """An idle worker of this process for a task of `group` about to be stored: the task is
        stored as that worker's (workers/queue.py `on_worker`) and skips the queue. None when no
        worker of the group waits here."""
        return self._dispatchers[group].reserve() if group in self._dispatchers else None

    def unreserve(self, worker: WorkerConnection) -> None:
        """The task `reserve` was for was never held: its worker is free again."""
        self._dispatcher(worker.group).unreserve(worker)

    async def dispatch(self, task: Task, worker: WorkerConnection | None = None) -> None:
        """A held worker task: to the worker reserved for it, else to one of this process that
        turned idle meanwhile, else queued, and then the other instances hear of it (a signal sent
        in the background: a lost one leaves the task to their re-check)."""
        group = task.group
        assert group is not None, "a worker task is queued in its group (queued_task)"
        if worker is not None:
            await self._dispatcher(group).hand_over(worker, task)
            return
        if group in self._dispatchers and await self._dispatchers[group].offer(task):
            return
        await self.queue.enqueue(task)
        self.woken(group)
        self._signal(WorkQueued(correlation_id=group, group=group))

    def woken(self, group: str) -> None:
        """Work of `group` waits (queued elsewhere, or found by the re-check): this process's idle
        workers of the group need not wait."""
        if group in self._dispatchers:
            self._dispatchers[group].wake()

    async def token_revoked(self, token_id: str) -> None:
        """This gateway's admin API revoked the token: its sockets here close now, and every
        other instance hears of it (a missed signal leaves it to their re-check)."""
        await self.heard_revoked(token_id)
        self._signal(WorkerTokenRevoked(correlation_id=token_id, token_id=token_id))

    async def heard_revoked(self, token_id: str) -> None:
        """Another instance revoked the token (or this one did): close its sockets here."""
        await self.revocation.close_token(token_id, list(self._open))

    def _signal(self, event: WorkQueued | WorkerTokenRevoked) -> None:
        sending = asyncio.create_task(self._publisher.publish(event))
        self._signalling.add(sending)
        sending.add_done_callback(self._sent)

    def _sent(self, sending: asyncio.Task) -> None:
        self._signalling.discard(sending)
        if not sending.cancelled() and sending.exception() is not None:
            log.warning("dispatch signal not sent (the re-checks cover it): %r", sending.exception())

    def connected_here(self, group: str) -> bool:
        """Open sockets count until they disconnect, as their `workers` documents do."""
        return any(w.group == group for w in self._open)

    async def look_for_results(self) -> None:
        """Every `dispatch_poll_s`: results finished on other instances, while someone waits."""
        await self.waiters.look_for_finished({w.task.id for w in self._open if w.task is not None})

    async def recheck(self) -> None:
        """Every `dispatch_recheck_s`: counts the queues (the gauge, admission's cached depth),
        wakes groups with work waiting in case a queue-watch event was missed, and drops entries
        of tasks that ended while queued. One aggregate over the small queue while it is empty."""
        depths = await self.queue.depth_by_group()
        self.admission.counted(depths)
        self._known_groups |= set(depths) | set(self._dispatchers)
        for group in self._known_groups:
            metrics.QUEUE_DEPTH.labels(group).set(depths.get(group, 0))
        for group, depth in depths.items():
            if depth:
                self.woken(group)
        if any(depths.values()):
            await self.queue.prune(now_ms() - self._stale_queue_entry_ms)

    async def heartbeat(self) -> None:
        """Every `worker_heartbeat_s`: keeps this process's workers online."""
        if self._open:
            await self.registry.refresh()

    async def close_revoked(self) -> None:
        """Every `worker_token_recheck_s`: closes this process's sockets whose token was revoked."""
        await self.revocation.close_revoked(list(self._open))

    async def stop(self) -> None:
        await asyncio.gather(*(d.stop() for d in self._dispatchers.values()))

    async def _leave(self, worker: WorkerConnection, task: Task | None) -> None:
        await self.registry.remove(worker.id)
        if task is not None:
            done = await fail_and_announce(self._tasks, self._publisher, task.id, WORKER_DISCONNECTED,
                                           "Worker disconnected")
            if done is not None:
                self.waiters.finished(done)

    def _dispatcher(self, group: str) -> GroupDispatcher:
        if group not in self._dispatchers:
            self._dispatchers[group] = GroupDispatcher(group, self.queue, self.revocation.still_admitted)
        return self._dispatchers[group]
