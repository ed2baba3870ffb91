"""The figures of the console's overview, read from the settlement counters (`shared/hourly_stats`)
and from collections that hold only live or configuration documents, never by scanning tasks.

A period is today (hourly documents since midnight UTC), 7 or 30 days (daily documents, today
included). What one page view reads: four index range queries over the counters (all, model,
channel, user: one document per bucket and key), the names of the top channels and users by
`_id`, the live tasks' ids over the (status, next_poll_at) index (`TaskReads.count_live`), the dispatch
queue's depth per group, and the channels cooling down. None of it grows with the tasks stored."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from shared.users import UserRepository
from services.gateway.workers.queue import WorkQueue
from shared.channels import Channel, ChannelRepository
from shared.clock import now, stamp
from shared.hourly_stats import DAY, HOUR, Totals, bucket_of, read_counters, totals_by_bucket, totals_by_key
from shared.status import TaskStatus
from shared.task_reads import TaskReads

PERIODS = {"today": (HOUR, 0), "7d": (DAY, 6), "30d": (DAY, 29)}
TOP = 8
IN_FLIGHT_CAP = 10_000  # the page says "10000+" beyond it
COOLING_SHOWN = 50


@dataclass(frozen=True)
class Ranked:
    key: str
    name: str
    totals: Totals


@dataclass(frozen=True)
class Overview:
    period: str
    since: str
    total: Totals
    success_rate: float | None
    series: list[dict[str, Any]]
    models: list[Ranked]
    channels: list[Ranked]
    users: list[Ranked]
    in_flight: int
    queues: dict[str, int]
    cooling: list[Channel]


def buckets(period: str) -> tuple[str, list[str]]:
    """The grain of a period and its buckets, oldest first (each hour of today until this one, each day)."""
    grain, days_back = PERIODS[period]
    moment = now()
    today = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if grain == HOUR:
        return grain, [bucket_of(stamp(today + timedelta(hours=h)), HOUR) for h in range(moment.hour + 1)]
    return grain, [bucket_of(stamp(today - timedelta(days=d)), DAY) for d in range(days_back, -1, -1)]


async def read_overview(db: AsyncDatabase, period: str) -> Overview:
    grain, labels = buckets(period)
    since = labels[0]
    everything = await read_counters(db, grain, "all", since)
    per_bucket, total = totals_by_bucket(everything), Totals("-")
    for doc in everything:
        total.add(doc)
    ended = total.status.get(TaskStatus.SUCCESS.value, 0) + total.status.get(TaskStatus.FAILURE.value, 0)
    series = [{"bucket": label, "success": t.status.get(TaskStatus.SUCCESS.value, 0),
               "failure": t.status.get(TaskStatus.FAILURE.value, 0), "charged": t.charged, "refunded": t.refunded}
              for label in labels for t in [per_bucket.get(label) or Totals(label)]]
    ranked = {dimension: _top(totals_by_key(await read_counters(db, grain, dimension, since)))
              for dimension in ("model", "channel", "user")}
    channels = ChannelRepository(db)
    channel_names = await channels.names(t.key for t in ranked["channel"])
    user_names = await UserRepository(db).names(t.key for t in ranked["user"])
    return Overview(
        period=period, since=since, total=total,
        success_rate=total.status.get(TaskStatus.SUCCESS.value, 0) / ended if ended else None, series=series,
        models=[Ranked(t.key, t.key, t) for t in ranked["model"]],
        channels=[Ranked(t.key, channel_names.get(t.key, t.key), t) for t in ranked["channel"]],
        users=[Ranked(t.key, user_names.get(t.key, t.key), t) for t in ranked["user"]],
        in_flight=await TaskReads(db).count_live(IN_FLIGHT_CAP),
        queues=dict(sorted((await WorkQueue(db).depth_by_group()).items())),
        cooling=await channels.cooling_down(COOLING_SHOWN))


def _top(totals: dict[str, Totals]) -> list[Totals]:
    return sorted(totals.values(), key=lambda t: (-t.charged, -t.tasks, t.key))[:TOP]

