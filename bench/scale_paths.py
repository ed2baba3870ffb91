"""The three paths a task takes (bench/cost_paths.py), timed end to end on one stack with 1,000 and
then with 100,000 ended tasks, delivered webhooks and consumption logs stored in its database:
calls/s and p50 call latency at each size, and the time until every task of the round is settled.

The goal is the 100,000 figures within 1.25x of the 1,000 ones; both sizes run in the same stack,
one after the other, so a ratio compares like with like (the machine may still be busier during
one round than the other: the report names each round's load average)."""
from __future__ import annotations

import os
import time

from pymongo import AsyncMongoClient

from bench.common import Results, closed_loop, median
from bench.cost import online, until_settled
from bench.cost_meter import Meter
from bench.cost_paths import PATHS, UPSTREAM_KEY, set_up
from bench.env import BenchEnv
from bench.scale import BATCH, delivered, ended_task
from tests.harness.stack import SERVICES

TASKS = 100
CONCURRENCY = 8
WORKERS = 8
SETTLE_TIMEOUT_S = 300.0


def logged(n: int) -> dict:
    task = ended_task(n)
    return {"_id": task["_id"], "task_id": task["_id"], "user_id": task["user_id"], "key_id": task["key_id"],
            "model": task["model"], "channel_id": task["channel_id"], "mode": "async", "hold": 10, "quota": 10,
            "refund": 0, "debt": 0, "status": task["status"], "created_at": task["finished_at"]}


async def run(env: BenchEnv, results: Results, sizes: list[int], *, tasks: int = TASKS,
              concurrency: int = CONCURRENCY, workers: int = WORKERS) -> None:
    with env.stack(SERVICES, MOCK_UPSTREAM_KEY=UPSTREAM_KEY) as stack:
        paths = await set_up(stack, poll_interval=0.2, done_after=0.1, concurrency=concurrency)
        meter = Meter({name: process.url for name, process in stack.processes.items()}, env.pids(stack))
        client = AsyncMongoClient(env.infra.mongodb_url, tz_aware=True)
        db = client[stack.env["MONGODB_DATABASE"]]
        figures: dict[tuple[str, int], tuple[float, float, float]] = {}
        try:
            for path in PATHS:  # a full round first: first-use costs (connections, caches) belong to neither size
                settled = await meter.settlements()
                async with online(paths, path, workers):
                    warmed, _, _ = await closed_loop(concurrency, tasks, lambda i, p=path: paths.call(p, i))
                    await until_settled(meter, settled + len(warmed), SETTLE_TIMEOUT_S)
            have = 0
            for size in sorted(sizes):
                for start in range(have, size, BATCH):
                    batch = range(start, min(start + BATCH, size))
                    await db["tasks"].insert_many([ended_task(n) for n in batch], ordered=False)
                    await db["webhook_deliveries"].insert_many([delivered(n) for n in batch], ordered=False)
                    await db["consumption_logs"].insert_many([logged(n) for n in batch], ordered=False)
                have = size
                load = os.getloadavg()[0]
                for path in PATHS:
                    settled = await meter.settlements()
                    async with online(paths, path, workers):
                        latencies, wall, errors = await closed_loop(concurrency, tasks,
                                                                    lambda i, p=path: paths.call(p, i))
                        started = time.monotonic()
                        await until_settled(meter, settled + len(latencies), SETTLE_TIMEOUT_S)
                    figures[(path, size)] = (len(latencies) / wall, median(latencies) * 1000,
                                             wall + time.monotonic() - started)
                    rate, p50, done = figures[(path, size)]
                    results.add("scale paths", f"{path}, {size:,} stored", f"{rate:.1f} calls/s",
                                f"p50 {p50:.0f} ms; all {len(latencies)} settled {done:.1f} s after the first call; "
                                f"{len(errors)} refused{_first(errors)}; load {load:.2f}")
        finally:
            await paths.close()
            await meter.close()
            await client.close()
    smallest, largest = min(sizes), max(sizes)
    for path in PATHS:
        (rate_s, p50_s, done_s), (rate_l, p50_l, done_l) = figures[(path, smallest)], figures[(path, largest)]
        results.add("scale paths", f"{path}: {largest:,} / {smallest:,} stored, calls/s",
                    f"{rate_l / rate_s:.2f}x", f"p50 {p50_l / p50_s:.2f}x, all settled {done_l / done_s:.2f}x; "
                    "goal: calls/s >= 0.8x, p50 <= 1.25x")


def _first(errors: list[BaseException]) -> str:
    """What the first refusal said, so that a refused call can be looked into."""
    return f" (first: {str(errors[0])[:160]})" if errors else ""
