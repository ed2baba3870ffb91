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
from opentelemetry.trace import SpanKind

from services.poller import metrics
from services.poller.late_watch import LateWatcher, LateWatches
from services.poller.pacing import RequestPacer, requests_per_sweep
from services.poller.schedule import next_poll
from services.poller.settings import PollerSettings
from shared import tracing
from shared.channels import Channel, ChannelRepository
from shared.kafka import EventPublisher
from shared.late_results import LATE_REASON
from shared.providers.base import Observation, StatusProvider, UpstreamContext
from shared.providers.observations import apply_observations
from shared.providers.registry import provider_for
from shared.result_storage.copier import ResultCopier
from shared.status import TaskStatus
from shared.typed_tasks import API as TASK_API, START_TIMEOUT_MESSAGE, START_TIMEOUT_REASON, not_started
from shared.task_events import fail_and_announce
from shared.clock import seconds_since, stamp
from shared.task_record import Task
from shared.tasks import PollLease, TaskStore
from shared.upstream.errors import UpstreamError, UpstreamThrottled

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
    next_due_at: str | None = None  # when a live task is due next, as far as the sweep knows (None: none live)

    def counts(self) -> dict[str, int]:
        """The summary as the Prometheus counter's outcomes (metrics.SUMMARY_OUTCOMES)."""
        return {"updated": self.updated, "succeeded": self.succeeded, "failed": self.failed,
                "still_processing": self.still_processing, "errors": len(self.errors)}

    def as_dict(self) -> dict[str, Any]:
        return {"total": self.total, "updated": self.updated, "succeeded": self.succeeded, "failed": self.failed,
                "stillProcessing": self.still_processing, "upstreamRequests": self.upstream_requests,
                "errors": self.errors[:20]}


class Sweeper:
    def __init__(self, tasks: TaskStore, channels: ChannelRepository, publisher: EventPublisher,
                 http: httpx.AsyncClient, settings: PollerSettings, *, outbound: httpx.AsyncClient,
                 late_watches: LateWatches | None = None) -> None:
        """`http` reaches the channels' upstreams; `outbound` the result files they name
        (`shared.outbound_urls.outbound_client`); `late_watches`: where tasks failed on timeout
        are watched for a late result (services/poller/late_watch.py; None: they are not)."""
        self._tasks, self._channels, self._publisher = tasks, channels, publisher
        self._settings = settings
        self._context = UpstreamContext(http=http, settings=settings)
        self._results = ResultCopier(outbound, settings)
        self._semaphores: dict[str, asyncio.Semaphore] = {}
        self._pacers: defaultdict[str, RequestPacer] = defaultdict(RequestPacer)
        self._late = late_watches and LateWatcher(late_watches, tasks, self._results, self._ask,
                                                  settings.late_watch_s)

    async def sweep(self) -> SweepReport:
        with metrics.SWEEP_SECONDS.time():
            report = await self._sweep_once()
        metrics.LAST_SWEEP.set_to_current_time()  # only a sweep that did not raise counts as done
        for outcome, count in report.counts().items():
            metrics.SYNC_SUMMARY.labels(outcome).inc(count)
        return report

    async def _sweep_once(self) -> SweepReport:
        report = SweepReport()
        token = secrets.token_hex(8)
        claim = await self._tasks.claim_due(self._settings.poll_claim_limit, self._settings.poll_lease_s, token)
        leased = claim.leased
        report.next_due_at = claim.next_due_at()
        report.total = len(leased)
        metrics.TASKS_CLAIMED.inc(len(leased))
        if leased:
            # Each task continues the trace its submit stored: a sweep is started by a timer, not a message.
            with tracing.handling("poll tasks", SpanKind.INTERNAL,
                                  ((t.id, t.id, tracing.resumed_context(t.traceparent)) for t in leased), {}):
                await self._sweep_leased(leased, token, report)
        return report

    async def sweep_late(self) -> int:
        """One pass over the late watches due; how many late results it recorded. Its own loop
        (every LATE_WATCH_TICK_S), so an upstream slow to answer about old tasks never holds up
        the polls of live ones; both keep to each channel's concurrency and request rate."""
        if self._late is None:
            return 0
        return await self._late.sweep(self._load_channels, self._settings.poll_claim_limit,
                                      self._settings.poll_lease_s, secrets.token_hex(8))

    async def _sweep_leased(self, leased: list[Task], token: str, report: SweepReport) -> None:
        channels = await self._load_channels({t.channel_id for t in leased})
        pollable: dict[str, list[Task]] = defaultdict(list)
        for task in leased:
            reason = self._cannot_continue(task, channels.get(task.channel_id))
            if reason:
                await self._fail(task, reason, report, channels.get(task.channel_id))
            else:
                pollable[task.channel_id].append(task)
        await asyncio.gather(*(self._poll_channel(channels[cid], group, token, report)
                               for cid, group in pollable.items()))

    def _cannot_continue(self, task: Task, channel: Channel | None) -> str | None:
        default_s = self._settings.custom_pass_task_max_lifetime
        lifetime = task.task_lifetime_s or (channel.lifetime(default_s) if channel else default_s)
        age_s = seconds_since(task.created_at)
        if age_s > lifetime:
            return "timeout"
        if task.api == TASK_API and not_started(task) and age_s > self._settings.task_start_timeout_s:
            return START_TIMEOUT_REASON
        if task.channel_kind == "worker":
            return "timeout"  # due only at its deadline (gateway/dispatch_submit.py): nothing to poll
        if not task.upstream_task_id:
            return "never_submitted"  # due while NOT_START means its submit grace has passed
        if channel is None or not channel.enabled or provider_for(channel.kind) is None:
            return "channel_unavailable"
        return None

    async def _fail(self, task: Task, reason: str, report: SweepReport,
                    channel: Channel | None) -> None:
        message = START_TIMEOUT_MESSAGE if reason == START_TIMEOUT_REASON else None
        if await fail_and_announce(self._tasks, self._publisher, task.id, reason, message):
            metrics.FAILED_WITHOUT_POLL.labels(reason).inc()
            metrics.STATUS_CHANGES.labels(TaskStatus.FAILURE.value).inc()
            report.failed += 1
            report.updated += 1
            if reason == LATE_REASON and self._late is not None:
                await self._late.watch(channel, task, self._interval(channel))

    async def _poll_channel(self, channel: Channel, tasks: list[Task], token: str, report: SweepReport) -> None:
        size = channel.query_batch(self._settings.custom_pass_batch_size)
        size = min(size, _provider(channel).max_batch or size)
        batches = [tasks[i:i + size] for i in range(0, len(tasks), size)]
        if channel.max_requests_per_s:
            room = requests_per_sweep(float(channel.max_requests_per_s), self._settings.poll_lease_s)
            await self._tasks.release_many(token, [(task.id, stamp(), {})  # due again: the next sweep asks
                                                   for batch in batches[room:] for task in batch])
            batches = batches[:room]
        await asyncio.gather(*(self._poll_batch(channel, batch, token, report) for batch in batches))

    async def _poll_batch(self, channel: Channel, batch: list[Task], token: str, report: SweepReport) -> None:
        interval = self._interval(channel)
        report.upstream_requests += 1
        try:
            observations = await self._ask(channel, batch)
        except UpstreamError as exc:
            metrics.UPSTREAM_REQUESTS.labels(channel.id, type(exc).__name__).inc()
            report.errors.append(f"{channel.id}: {exc.message}")
            retry_after = exc.retry_after if isinstance(exc, UpstreamThrottled) else None
            errors = {task.id: task.poll_errors + 1 for task in batch}
            await self._tasks.release_many(token, [
                (task_id, next_poll(interval, count, retry_after), {"poll_errors": count})
                for task_id, count in errors.items()])
            return
        metrics.UPSTREAM_REQUESTS.labels(channel.id, "ok").inc()
        metrics.TASKS_POLLED.inc(len(batch))
        observed = [(task, observations[task.id]) for task in batch if task.id in observations]
        due = next_poll(interval)
        changed = await apply_observations(self._tasks, self._publisher, self._results, channel, observed,
                                           PollLease(token, due))
        released = set()  # a change gave its lease back (or ended the task, which keeps no schedule)
        for (task, observation), change in zip(observed, changed):
            if not observation.status.is_terminal:
                report.still_processing += 1
            if change is not None:
                self._count_change(observation, report)
                released.add(task.id)
        await self._tasks.release_many(token, [(task.id, due, {"poll_errors": 0})
                                               for task in batch if task.id not in released])

    @staticmethod
    def _count_change(observation: Observation, report: SweepReport) -> None:
        metrics.STATUS_CHANGES.labels(observation.status.value).inc()
        report.updated += 1
        report.succeeded += observation.status is TaskStatus.SUCCESS
        report.failed += observation.status is TaskStatus.FAILURE

    def _interval(self, channel: Channel | None) -> float:
        default_s = self._settings.custom_pass_poll_interval
        return channel.poll_interval(default_s) if channel else default_s

    async def _ask(self, channel: Channel, batch: list[Task]) -> dict[str, Observation]:
        """One status query to the channel's upstream, within its concurrency and request rate."""
        async with self._semaphore(channel):
            if channel.max_requests_per_s:
                await self._pacers[channel.id].wait_turn(float(channel.max_requests_per_s))
            return await _provider(channel).query(self._context, channel, batch)

    def _semaphore(self, channel: Channel) -> asyncio.Semaphore:
        limit = channel.concurrency(self._settings.custom_pass_max_concurrent)
        key = f"{channel.id}:{limit}"
        if key not in self._semaphores:
            self._semaphores[key] = asyncio.Semaphore(limit)
        return self._semaphores[key]

    async def _load_channels(self, ids: set[str]) -> dict[str, Channel]:
        """Read once per sweep (and per late pass), as stored: the poller keeps no channel cache."""
        return await self._channels.get_many(ids)


def _provider(channel: Channel) -> StatusProvider:
    provider = provider_for(channel.kind)
    assert provider is not None, "tasks of channels without a provider fail before polling"
    return provider
