"""One polling sweep: lease the due tasks, fail the ones that can no longer finish, query the
rest upstream in batches per channel, and publish every real change."""
from __future__ import annotations

import asyncio
import logging
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx

from services.poller import metrics
from services.poller.schedule import next_poll
from services.poller.settings import PollerSettings
from shared.kafka import EventPublisher
from shared.status import TaskStatus, UpstreamStatusWords
from shared.task_events import fail_and_announce, status_changed
from shared.clock import seconds_since
from shared.tasks import TaskStore
from shared.upstream import custompass
from shared.upstream.errors import UpstreamError, UpstreamMalformed, UpstreamThrottled

log = logging.getLogger(__name__)


@dataclass
class SweepReport:
    """Per sweep, as seed 002's batch sync reports it."""
    total: int = 0
    updated: int = 0
    succeeded: int = 0
    failed: int = 0
    still_processing: int = 0
    upstream_requests: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"total": self.total, "updated": self.updated, "succeeded": self.succeeded, "failed": self.failed,
                "stillProcessing": self.still_processing, "upstreamRequests": self.upstream_requests,
                "errors": self.errors[:20]}


class Sweeper:
    def __init__(self, tasks: TaskStore, channels, publisher: EventPublisher, http: httpx.AsyncClient,
                 settings: PollerSettings) -> None:
        self._tasks, self._channels, self._publisher, self._http = tasks, channels, publisher, http
        self._settings = settings
        self._semaphores: dict[str, asyncio.Semaphore] = {}

    async def sweep(self) -> SweepReport:
        with metrics.SWEEP_SECONDS.time():
            report = await self._sweep_once()
        metrics.LAST_SWEEP.set_to_current_time()  # only a sweep that did not raise counts as done
        return report

    async def _sweep_once(self) -> SweepReport:
        report = SweepReport()
        token = secrets.token_hex(8)
        leased = await self._tasks.claim_due(self._settings.poll_claim_limit, self._settings.poll_lease_s, token)
        report.total = len(leased)
        metrics.TASKS_CLAIMED.inc(len(leased))
        if not leased:
            return report
        channels = await self._load_channels({t["channel_id"] for t in leased})
        pollable: dict[str, list[dict]] = defaultdict(list)
        for task in leased:
            reason = self._cannot_continue(task, channels.get(task["channel_id"]))
            if reason:
                await self._fail(task, reason, report)
            else:
                pollable[task["channel_id"]].append(task)
        await asyncio.gather(*(self._poll_channel(channels[cid], group, token, report)
                               for cid, group in pollable.items()))
        return report

    def _cannot_continue(self, task: dict[str, Any], channel: dict[str, Any] | None) -> str | None:
        lifetime = task.get("task_lifetime_s") or (channel or {}).get("task_lifetime_s") \
            or self._settings.custom_pass_task_max_lifetime
        if seconds_since(task["created_at"]) > lifetime:
            return "timeout"
        if task.get("channel_kind") == "worker":
            return "timeout"  # due only at its deadline (gateway/workers/submission.py): nothing to poll
        if not task.get("upstream_task_id"):
            return "never_submitted"  # due while NOT_START means its submit grace has passed
        if channel is None or not channel.get("enabled", True):
            return "channel_unavailable"
        return None

    async def _fail(self, task: dict[str, Any], reason: str, report: SweepReport) -> None:
        if await fail_and_announce(self._tasks, self._publisher, task["_id"], reason):
            metrics.FAILED_WITHOUT_POLL.labels(reason).inc()
            metrics.STATUS_CHANGES.labels(TaskStatus.FAILURE.value).inc()
            report.failed += 1
            report.updated += 1

    async def _poll_channel(self, channel: dict[str, Any], tasks: list[dict], token: str, report: SweepReport) -> None:
        size = int(channel.get("batch_size") or self._settings.custom_pass_batch_size)
        await asyncio.gather(*(self._poll_batch(channel, tasks[i:i + size], token, report)
                               for i in range(0, len(tasks), size)))

    async def _poll_batch(self, channel: dict[str, Any], batch: list[dict], token: str, report: SweepReport) -> None:
        interval = float(channel.get("poll_interval_s") or self._settings.custom_pass_poll_interval)
        call = custompass.call_for_channel(channel, "", self._settings)
        model = batch[0].get("upstream_model") or batch[0]["model"].removesuffix("/submit")
        report.upstream_requests += 1
        try:
            async with self._semaphore(channel):
                items = await custompass.query(self._http, call, model, [t["upstream_task_id"] for t in batch])
        except UpstreamError as exc:
            metrics.UPSTREAM_REQUESTS.labels(channel["_id"], type(exc).__name__).inc()
            report.errors.append(f"{channel['_id']}: {exc.message}")
            retry_after = exc.retry_after if isinstance(exc, UpstreamThrottled) else None
            for task in batch:
                errors = int(task.get("poll_errors", 0)) + 1
                await self._tasks.release(task["_id"], token, next_poll(interval, errors, retry_after),
                                          poll_errors=errors)
            return
        metrics.UPSTREAM_REQUESTS.labels(channel["_id"], "ok").inc()
        metrics.TASKS_POLLED.inc(len(batch))
        words = self._status_words(channel)
        by_upstream_id = {str(item["task_id"]): item for item in items}
        for task in batch:
            item = by_upstream_id.get(task["upstream_task_id"])
            if item is not None:
                await self._apply(task, item, words, report)
            await self._tasks.release(task["_id"], token, next_poll(interval), poll_errors=0)

    async def _apply(self, task: dict[str, Any], item: dict[str, Any], words: UpstreamStatusWords,
                     report: SweepReport) -> None:
        status = words.map(item.get("status"))
        progress = item.get("progress") or task.get("progress")
        if status.is_terminal:
            changed = await self._tasks.finish(task["_id"], status, **_outcome_fields(status, item))
        else:
            changed = await self._tasks.advance(task["_id"], status, progress)
            report.still_processing += 1
        if changed is None:
            return
        await self._publisher.publish(status_changed(changed, task["status"]))
        metrics.STATUS_CHANGES.labels(status.value).inc()
        report.updated += 1
        report.succeeded += status is TaskStatus.SUCCESS
        report.failed += status is TaskStatus.FAILURE

    def _status_words(self, channel: dict[str, Any]) -> UpstreamStatusWords:
        """Per-channel words > environment (CUSTOM_PASS_STATUS_*) > defaults."""
        own = channel.get("status_words") or {}
        s = self._settings
        return UpstreamStatusWords(success=own.get("success") or s.custom_pass_status_success,
                                   failed=own.get("failed") or s.custom_pass_status_failed,
                                   processing=own.get("processing") or s.custom_pass_status_processing)

    def _semaphore(self, channel: dict[str, Any]) -> asyncio.Semaphore:
        limit = int(channel.get("max_concurrent") or self._settings.custom_pass_max_concurrent)
        key = f"{channel['_id']}:{limit}"
        if key not in self._semaphores:
            self._semaphores[key] = asyncio.Semaphore(limit)
        return self._semaphores[key]

    async def _load_channels(self, ids: set[str]) -> dict[str, dict[str, Any]]:
        return {c["_id"]: c async for c in self._channels.find({"_id": {"$in": list(ids)}})}


def _outcome_fields(status: TaskStatus, item: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {"result": item.get("result")}
    if item.get("usage") is not None:
        try:
            fields["usage"] = custompass.validate_usage(item["usage"])
        except UpstreamMalformed as exc:
            fields["usage_error"] = exc.message  # settled at the held amount, see settlement
    if status is TaskStatus.FAILURE:
        fields["fail_reason"] = "upstream_failed"
        fields["error"] = str(item.get("error") or "upstream reported failure")
    return fields
