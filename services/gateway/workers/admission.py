"""What `POST /api/openai` checks before it takes a task, without two counts per task: whether
the group has a worker online (503 `No worker available`) and whether its queue is full (503
`Queue is full`).

- Workers online: a worker of the group connected to this process answers at once; otherwise the
  registry's answer, kept `online_ttl_s` when it is yes. A no is never kept: a worker that just
  connected elsewhere is taken at once. A kept yes may outlive a worker that left elsewhere by
  `online_ttl_s`, well inside the registry's own `worker_stale_s` for a gateway that died.
- Queue full: the depth last counted here (at most `depth_ttl_s` old, from the hub's re-check or
  an admission's own count) plus what this process admitted since. While that is under half of
  MAX_QUEUE_LENGTH the small count is skipped; nearer the limit every admission counts exactly.
  Other instances' admissions within `depth_ttl_s` are not seen, so the limit can be passed only
  by what they admit in that time beyond half the limit, as two concurrent submits always could.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from services.gateway.workers.queue import WorkQueue
from services.gateway.workers.registry import WorkerRegistry


@dataclass
class _Depth:
    counted: int
    at: float
    admitted_since: int = 0


class DispatchAdmission:
    def __init__(self, registry: WorkerRegistry, queue: WorkQueue, online_ttl_s: float = 1.0,
                 depth_ttl_s: float = 1.0) -> None:
        self._registry, self._queue = registry, queue
        self._online_ttl_s, self._depth_ttl_s = online_ttl_s, depth_ttl_s
        self._online_seen: dict[str, float] = {}
        self._depths: dict[str, _Depth] = {}

    async def workers_online(self, group: str, connected_here: bool) -> bool:
        if connected_here:
            return True
        seen = self._online_seen.get(group)
        if seen is not None and time.monotonic() - seen < self._online_ttl_s:
            return True
        if await self._registry.online(group):
            self._online_seen[group] = time.monotonic()
            return True
        return False

    async def queue_full(self, group: str, max_length: int) -> bool:
        depth = self._depths.get(group)
        if depth is None or time.monotonic() - depth.at >= self._depth_ttl_s \
                or 2 * (depth.counted + depth.admitted_since) >= max_length:
            depth = self._depths[group] = _Depth(await self._queue.depth(group), time.monotonic())
        if depth.counted + depth.admitted_since >= max_length:
            return True
        depth.admitted_since += 1
        return False

    def counted(self, depths: dict[str, int]) -> None:
        """The hub's re-check counted every group's queue (groups absent have none queued)."""
        now = time.monotonic()
        for group in set(depths) | set(self._depths):
            self._depths[group] = _Depth(depths.get(group, 0), now)
