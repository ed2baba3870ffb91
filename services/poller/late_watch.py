"""The late watch: a task the poller failed on timeout is still asked about, slowly, for its
channel's `late_watch_s` (LATE_WATCH_S, 30 min, when unset; 0: not at all), so an upstream that
finishes it after all is heard (shared/late_results.py). The task stays failed and refunded.

The watch is a document of its own in `late_watches`, removed when the upstream has the last word
or the window closes, so the collection holds only live watches and finding the due ones reads
that collection, never the tasks (a range over the tasks collection grows with what is stored,
terminal tasks included, on the MongoDB stand-in). Watching begins after the task's failure is
stored: a poller that dies in between leaves that task unwatched (its webhooks still count).
"""
from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from shared import late_results
from shared.channels import Channel
from shared.clock import stamp, stamp_in
from shared.providers.base import Observation
from shared.providers.observations import apply_late_observation
from shared.providers.registry import provider_for
from shared.result_storage.copier import ResultCopier
from shared.task_record import Task
from shared.tasks import TaskStore
from shared.upstream.errors import UpstreamError

Ask = Callable[[Channel, list[Task]], Awaitable[dict[str, Observation]]]


class LateWatches:
    """The live watches: `{_id: task id, channel_id, until, every_s, due_at, lease, lease_until}`."""

    def __init__(self, db: AsyncDatabase) -> None:
        self.watches = db["late_watches"]

    async def ensure_indexes(self) -> None:
        await self.watches.create_index([("due_at", 1)])

    async def start(self, task_id: str, channel_id: str, window_s: float, every_s: float) -> None:
        """Idempotent: a second start of the same task's watch changes nothing."""
        await self.watches.update_one({"_id": task_id}, {"$setOnInsert": {
            "channel_id": channel_id, "until": stamp_in(window_s), "every_s": every_s,
            "due_at": stamp_in(min(every_s, window_s)), "lease_until": 0.0}}, upsert=True)

    async def claim_due(self, limit: int, lease_s: float, token: str) -> list[dict[str, Any]]:
        due = {"due_at": {"$lte": stamp()}, "lease_until": {"$lt": time.time()}}
        ids = [doc["_id"] async for doc in self.watches.find(due, {"_id": 1}).limit(limit)]
        if not ids:
            return []
        await self.watches.update_many({**due, "_id": {"$in": ids}},
                                       {"$set": {"lease": token, "lease_until": time.time() + lease_s}})
        return await self.watches.find({"_id": {"$in": ids}, "lease": token}).to_list(length=limit)

    async def release(self, token: str, later: list[tuple[str, str]], ended: list[str]) -> None:
        """Each watch in `later` asked again at its time, those `ended` removed: one round trip each."""
        if later:
            await self.watches.bulk_write([
                UpdateOne({"_id": task_id, "lease": token}, {"$set": {"due_at": due_at, "lease_until": 0.0}})
                for task_id, due_at in later], ordered=False)
        if ended:
            await self.watches.delete_many({"_id": {"$in": ended}})


class LateWatcher:
    """One pass over the due watches: ask each channel's upstream about its watched tasks in
    batches (through `ask`, which keeps to the channel's limits) and record what is final."""

    def __init__(self, watches: LateWatches, tasks: TaskStore, results: ResultCopier, ask: Ask,
                 default_window_s: float) -> None:
        self._watches, self._tasks, self._results, self._ask = watches, tasks, results, ask
        self.default_window_s = default_window_s

    async def watch(self, channel: Channel | None, task: Task, poll_interval_s: float) -> None:
        """Starts watching a task just failed on timeout, if its channel wants it and can be asked."""
        if channel is None or not task.upstream_task_id or provider_for(channel.kind) is None:
            return
        window = late_results.watch_window_s(channel, self.default_window_s)
        if window > 0:
            await self._watches.start(task.id, channel.id, window,
                                      late_results.watch_every_s(window, poll_interval_s))

    async def sweep(self, channels: Callable[[set[str]], Awaitable[dict[str, Channel]]],
                    limit: int, lease_s: float, token: str) -> int:
        """How many late results this pass recorded."""
        watches = await self._watches.claim_due(limit, lease_s, token)
        if not watches:
            return 0
        tasks = {task.id: task for task in await self._tasks.records([w["_id"] for w in watches])}
        known = await channels({w["channel_id"] for w in watches})
        ended: list[str] = []
        groups: dict[str, list[tuple[dict, Task]]] = {}
        for watch in watches:
            task, channel = tasks.get(watch["_id"]), known.get(watch["channel_id"])
            if task is None or not late_results.awaits_late_result(task) or stamp() >= watch["until"] \
                    or channel is None or not channel.enabled or provider_for(channel.kind) is None:
                ended.append(watch["_id"])
            else:
                groups.setdefault(channel.id, []).append((watch, task))
        later: list[tuple[str, str]] = []
        recorded = 0
        for channel_id, group in groups.items():
            channel = known[channel_id]
            size = provider_for(channel.kind).max_batch or len(group)
            for start in range(0, len(group), size):
                batch = group[start:start + size]
                recorded += await self._ask_batch(channel, batch, later, ended)
        await self._watches.release(token, later, ended)
        return recorded

    async def _ask_batch(self, channel: Channel, batch: list[tuple[dict, Task]],
                         later: list[tuple[str, str]], ended: list[str]) -> int:
        try:
            observations = await self._ask(channel, [task for _, task in batch])
        except UpstreamError:
            observations = {}  # asked again at the watch's pace
        recorded = 0
        for watch, task in batch:
            observation = observations.get(task.id)
            if observation is not None and observation.status.is_terminal:
                recorded += await apply_late_observation(self._tasks, self._results, channel, task,
                                                         observation) is not None
                ended.append(task.id)
            else:
                later.append((task.id, min(stamp_in(float(watch["every_s"])), watch["until"])))
        return recorded
