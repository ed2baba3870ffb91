"""The hot-path queries as data accumulates: does their cost stay flat with 100,000 stored tasks?

A database of its own on the bench's MongoDB holds N ended, settled tasks, their N ended holds and
N delivered webhook deliveries (N = 1,000, 10,000 and 100,000 by default), beside a live set that
stays the same size at every N: LIVE tasks due for a poll, LIVE ended tasks awaiting settlement,
LIVE pending webhook deliveries, LIVE queued worker tasks, LIVE late watches and LIVE holds held
long ago. At each N every query below runs
REPEATS times, each time after the lookup floor, a `find_one` by `_id`; the figure is its median,
with its ratio to the floor's median, and the last rows give how that ratio grows from the
smallest N to the largest (1.0x: flat; a ratio, so a machine busier at one size than at another
does not count as growth).

The queries are the product's own calls (the poller's and the late watch's claims, settlement's
sweep and webhook claim, a worker's claim on an empty group, the queue depth, the console's
overview, billing's recovery sweep and its count of holds open too long); a claim's leases are handed back before the next repeat, so each repeat does the
same work.
"""
from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from bench.common import Results, median
from bench.env import BenchEnv
from services.gateway.console.overview import read_overview
from services.gateway.workers.queue import WorkQueue
from services.poller.late_watch import LateWatches
from shared import hourly_stats
from shared.clock import stamp, stamp_in
from shared.due_loop import DueClaim
from shared.ledger import Ledger
from shared.status import TaskStatus
from shared.task_record import Task
from shared.tasks import TaskStore
from shared.webhook_deliveries import WebhookDeliveries

LIVE = 20
REPEATS = 3
BATCH = 5000
LONG_AGO = "2000-01-01T00:00:00.000000Z"


def ended_task(n: int) -> dict[str, Any]:
    finished = stamp_in(-3600 - n % 86400)
    return {"_id": f"task_scale_{n}", "user_id": f"user_{n % 50}", "key_id": "key_scale", "model": "scale/submit",
            "channel_id": f"ch_{n % 5}", "channel_kind": "custompass_async", "mode": "async", "api": "pass",
            "status": "SUCCESS" if n % 10 else "FAILURE", "progress": "100%", "hold_id": f"hold_task_scale_{n}",
            "hold_amount": 10, "billing": {"mode": "per_call", "price": 10}, "created_at": finished,
            "finished_at": finished, "updated_at": finished, "poll_lease_until": 0.0, "settled": True,
            "settlement": {"outcome": "captured", "hold": 10, "charged": 10, "refunded": 0, "debt": 0}}


def ended_hold(n: int) -> dict[str, Any]:
    placed = stamp_in(-3600 - n % 86400)
    return {"_id": f"hold_task_scale_{n}", "user_id": f"user_{n % 50}", "amount": 10, "state": "captured",
            "lease": None, "lease_until": 0.0, "created_at": placed, "held_at": placed, "charged": 10,
            "refunded": 0, "debt": 0, "settled_at": placed}


def delivered(n: int) -> dict[str, Any]:
    return {"_id": f"msg_task_scale_{n}_completed", "task_id": f"task_scale_{n}", "user_id": f"user_{n % 50}",
            "event": "completed", "url": "https://hooks.example/cb", "state": "delivered", "lease_until": 0.0,
            "attempts": [{"at": LONG_AGO, "status_code": 200}], "created_at": LONG_AGO}


async def _seed_live(db: AsyncDatabase) -> None:
    tasks = TaskStore(db)
    for n in range(LIVE):
        await tasks.insert(Task(id=f"task_live_{n}", status=TaskStatus.IN_PROGRESS, user_id="user_live",
                                created_at=stamp()), next_poll_at=LONG_AGO)
        await tasks.insert(Task(id=f"task_unsettled_{n}", status=TaskStatus.SUCCESS, finished_at=LONG_AGO,
                                user_id="user_live", created_at=LONG_AGO))
        await tasks.insert(Task(id=f"task_queued_{n}", status=TaskStatus.QUEUED, api="openai", group="busy",
                                user_id="user_live", created_at=stamp()), next_poll_at=stamp_in(3600))
        await WorkQueue(db).entries.insert_one({"_id": f"task_queued_{n}", "group": "busy", "enqueued_ms": n})
        await db["webhook_deliveries"].insert_one({
            "_id": f"msg_task_live_{n}_completed", "task_id": f"task_live_{n}", "event": "completed",
            "url": "https://hooks.example/cb", "state": "pending", "attempts": [], "next_attempt_at": LONG_AGO,
            "lease_until": 0.0, "created_at": LONG_AGO})
        await db["holds"].insert_one({"_id": f"hold_live_{n}", "user_id": "user_live", "amount": 10, "state": "held",
                                      "lease": None, "lease_until": 0.0, "created_at": LONG_AGO, "held_at": LONG_AGO,
                                      "open_since": LONG_AGO})
        await LateWatches(db).watches.insert_one({"_id": f"task_late_{n}", "channel_id": "ch_0", "until": stamp_in(3600),
                                                  "every_s": 60, "due_at": LONG_AGO, "lease_until": 0.0})


async def _grow(db: AsyncDatabase, have: int, size: int) -> None:
    for start in range(have, size, BATCH):
        end = min(start + BATCH, size)
        await db["tasks"].insert_many([ended_task(n) for n in range(start, end)], ordered=False)
        await db["webhook_deliveries"].insert_many([delivered(n) for n in range(start, end)], ordered=False)
        await db["holds"].insert_many([ended_hold(n) for n in range(start, end)], ordered=False)


async def _give_back_leases(db: AsyncDatabase) -> None:
    await db["tasks"].update_many({"_id": {"$in": [f"task_live_{n}" for n in range(LIVE)]}},
                                  {"$set": {"poll_lease_until": 0.0}})
    await db["webhook_deliveries"].update_many({"_id": {"$in": [f"msg_task_live_{n}_completed" for n in range(LIVE)]}},
                                               {"$set": {"lease_until": 0.0}})
    await db["late_watches"].update_many({"_id": {"$in": [f"task_late_{n}" for n in range(LIVE)]}},
                                         {"$set": {"lease_until": 0.0}})


def queries(db: AsyncDatabase) -> dict[str, Callable[[], Awaitable[Any]]]:
    """Each query with what it must find in the live set (checked, so a broken query cannot look fast)."""
    tasks, deliveries, queue, watches = TaskStore(db), WebhookDeliveries(db), WorkQueue(db), LateWatches(db)
    ledger = Ledger(db)
    token = lambda: secrets.token_hex(6)  # noqa: E731
    return {
        "poller claim_due": lambda: _expect(_claimed(tasks.claim_due(5000, 60, token())), LIVE),
        "settlement unsettled sweep": lambda: _expect(tasks.unsettled_terminal(2, 500), LIVE),
        "webhook claim_due": lambda: _expect(_claimed(deliveries.claim_due(100, 15, token())), LIVE),
        "late watch claim_due": lambda: _expect(watches.claim_due(500, 60, token()), LIVE),
        "worker claim, empty group": lambda: _expect(queue.claim("idle", "worker_scale"), None),
        "queue depth": lambda: _expect(queue.depth("busy"), LIVE),
        "console overview, 30 days": lambda: read_overview(db, "30d"),
        "billing recovery sweep": lambda: _expect(ledger.recover(), 0),
        "billing holds open too long": lambda: _expect(ledger.count_holds_open_since(3600), LIVE),
    }


async def _claimed(claim: Awaitable[DueClaim]) -> list[Any]:
    return (await claim).leased


async def _expect(call: Awaitable[Any], wanted: int | None) -> Any:
    found = await call
    size = found if isinstance(found, int) or found is None else len(found)
    if size != wanted:
        raise AssertionError(f"expected {wanted}, found {size}")
    return found


async def run(env: BenchEnv, results: Results, sizes: list[int], repeats: int = REPEATS) -> None:
    client = AsyncMongoClient(env.infra.mongodb_url, tz_aware=True)
    db = client[f"bench_scale_{secrets.token_hex(4)}"]
    try:
        await TaskStore(db).ensure_indexes()
        await WebhookDeliveries(db).ensure_indexes()
        await WorkQueue(db).ensure_indexes()
        await LateWatches(db).ensure_indexes()
        await hourly_stats.ensure_indexes(db)
        await Ledger(db).ensure_indexes()
        await _seed_live(db)
        ratios: dict[str, dict[int, float]] = {}
        have = 0
        for size in sorted(sizes):
            started = time.monotonic()
            await _grow(db, have, size)
            have = size
            print(f"   {size:,} stored in {time.monotonic() - started:.0f} s", flush=True)
            floor_ms, figures = await _time_round(db, repeats)
            for name, ms_taken in figures.items():
                ratios.setdefault(name, {})[size] = ms_taken / floor_ms
                results.add("scale", f"{name}, {size:,} stored", f"{ms_taken:.1f} ms",
                            f"{ms_taken / floor_ms:.1f}x the _id lookup ({floor_ms:.1f} ms); median of {repeats}")
        smallest, largest = min(sizes), max(sizes)
        for name, by_size in ratios.items():
            results.add("scale", f"{name}: growth {smallest:,} -> {largest:,} stored",
                        f"{by_size[largest] / by_size[smallest]:.1f}x", "of its ratio to the _id lookup; 1.0x is flat")
    finally:
        await client.drop_database(db.name)
        await client.close()


async def _time_round(db: AsyncDatabase, repeats: int) -> tuple[float, dict[str, float]]:
    floors: list[float] = []
    samples: dict[str, list[float]] = {}
    for _ in range(repeats):
        for name, query in queries(db).items():
            floors.append(await _ms(lambda: db["tasks"].find_one({"_id": "task_scale_7"})))
            samples.setdefault(name, []).append(await _ms(query))
            await _give_back_leases(db)
    return median(floors), {name: median(values) for name, values in samples.items()}


async def _ms(call: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await call()
    return (time.perf_counter() - started) * 1000
