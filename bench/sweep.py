"""One poller sweeping N in-flight tasks once (N = 1,000 and 10,000).

The tasks are inserted straight into MongoDB in the shape `async_submit._new_task` +
`TaskStore.insert` + `mark_submitted` leave them (status SUBMITTED, an upstream id, `next_poll_at`
in the past). Their upstream ids are real tasks of the mock upstream, created through its submit
endpoint with the scenario `never`, so every query answers "processing" and nothing finishes.
The poller is `services.poller.sweep.Sweeper` in this process, with the poller's own defaults
(PollerSettings) and its own kind of HTTP client; the mock upstream is its own process.

Before each repeat every bench task is made due again as SUBMITTED, so each sweep does the same
work: lease, one upstream query per batch, SUBMITTED -> IN_PROGRESS with an event, release.
"""
from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from bench.common import CpuMeter, Results, median, spread
from bench.env import BenchEnv
from services.poller.settings import PollerSettings
from services.poller.sweep import Sweeper
from shared.channels import ChannelRepository
from shared.clock import stamp, stamp_in
from shared.kafka import EventPublisher, make_broker
from shared.tasks import POLLED_STATUSES, TaskStore
from shared.upstream.transport import upstream_client
from tests.harness.api import AdminApi

BATCH_SIZE = 50


def task_doc(task_id: str, upstream_id: str, model: str, channel: dict[str, Any]) -> dict[str, Any]:
    now = stamp()
    return {
        "_id": task_id, "user_id": "user_bench", "key_id": "key_bench", "model": f"{model}/submit",
        "channel_id": channel["id"], "channel_kind": channel["kind"], "mode": "async", "api": "pass",
        "status": "SUBMITTED", "progress": "0%",
        "request": {"body": '{"prompt": "bench"}', "query": ""}, "callback_url": None,
        "hold_id": f"hold_{task_id}", "hold_amount": 1, "billing": {"mode": "per_call", "price": 1},
        "task_lifetime_s": None, "created_at": now, "updated_at": now,
        "poll_lease_until": 0.0, "settled": False,
        "upstream_task_id": upstream_id, "submitted_at": now, "next_poll_at": stamp_in(-5),
    }


async def _upstream_tasks(upstream: httpx.AsyncClient, model: str, count: int, concurrency: int = 32) -> list[str]:
    ids: list[str] = []
    remaining = iter(range(count))

    async def submitter() -> None:
        for _ in remaining:
            response = await upstream.post(f"/{model}/submit", json={"prompt": "bench"})
            response.raise_for_status()
            ids.append(response.json()["data"]["task_id"])

    await asyncio.gather(*(submitter() for _ in range(concurrency)))
    return ids


async def run(env: BenchEnv, results: Results, *, sizes: list[int], repeats: int, budget: float) -> None:
    with env.stack(["gateway", "mock_upstream"]) as stack:
        admin = AdminApi(stack.gateway_url, stack.admin_token)
        mongo = AsyncMongoClient(env.infra.mongodb_url, tz_aware=True)
        db = mongo[stack.env["MONGODB_DATABASE"]]
        settings = PollerSettings(kafka_bootstrap_servers=env.infra.kafka_bootstrap_servers,
                                  kafka_topic_prefix=stack.env["KAFKA_TOPIC_PREFIX"],
                                  mongodb_url=env.infra.mongodb_url,
                                  mongodb_database=stack.env["MONGODB_DATABASE"])
        broker = make_broker(settings, client_id="bench-poller")
        upstream = httpx.AsyncClient(base_url=stack.upstream_url, timeout=30,
                                     limits=httpx.Limits(max_connections=32))
        http = upstream_client(max_connections=settings.custom_pass_max_concurrent * 2)  # the poller's own
        try:
            model = f"bench-sweep-{secrets.token_hex(3)}"
            # A long interval: a task released by a sweep is not due again within the measurement.
            channel = await admin.create_channel(
                name=f"bench-{model}", kind="custompass_async", base_url=stack.upstream_url,
                models=[f"{model}/submit"], billing={"mode": "per_call", "price": 1},
                poll_interval_s=3600, batch_size=BATCH_SIZE)
            (await upstream.put(f"/_mock/scenarios/{model}", json={"outcome": "never"})).raise_for_status()
            await broker.start()
            store = TaskStore(db)
            await store.ensure_indexes()
            claim_times: list[float] = []
            original_claim = store.claim_due

            async def timed_claim(*args, **kwargs):
                t0 = time.perf_counter()
                try:
                    return await original_claim(*args, **kwargs)
                finally:
                    claim_times.append(time.perf_counter() - t0)

            store.claim_due = timed_claim  # type: ignore[method-assign]
            sweeper = Sweeper(store, ChannelRepository(db), EventPublisher(broker, settings, producer="poller/bench"),
                              http, settings, outbound=http)
            inserted = 0
            per_size: dict[int, float] = {}
            estimated: set[int] = set()  # sizes stopped at the budget: their time is extrapolated
            for size in sorted(sizes):
                t0 = time.perf_counter()
                upstream_ids = await _upstream_tasks(upstream, model, size - inserted)
                t_up = time.perf_counter() - t0
                docs = [task_doc(f"task_bench_{secrets.token_hex(12)}", uid, model, channel) for uid in upstream_ids]
                t0 = time.perf_counter()
                for i in range(0, len(docs), 1000):
                    await db.tasks.insert_many(docs[i:i + 1000], ordered=False)
                t_insert = time.perf_counter() - t0
                inserted = size
                await _filter_costs(db, docs[0]["_id"] if docs else None, size, results)
                results.detail(f"sweep {size:,}: set-up added {len(docs):,} upstream tasks in {t_up:.1f}s "
                               f"and {len(docs):,} task documents in {t_insert:.1f}s")
                walls, per_sweep_requests, mock_requests, calls, claims = [], [], [], [], []
                updated, errors, unfinished = [], [], None
                meter = CpuMeter(env.pids(stack)).start()
                size_t0 = time.monotonic()
                for _ in range(repeats):
                    await db.tasks.update_many(
                        {"channel_id": channel["id"]},
                        {"$set": {"status": "SUBMITTED", "progress": "0%", "next_poll_at": stamp_in(-5),
                                  "poll_lease_until": 0.0}})
                    before = (await upstream.get("/_mock/stats")).json()["status_queries"]
                    claim_times.clear()
                    tally = {"swept": 0, "changed": 0, "requests": 0, "sweeps": 0}

                    async def sweep_all() -> None:
                        while tally["swept"] < size and tally["sweeps"] < 20:
                            report = await sweeper.sweep()
                            tally["sweeps"] += 1
                            if not report.total:
                                break
                            tally["swept"] += report.total
                            tally["changed"] += report.updated
                            tally["requests"] += report.upstream_requests
                            errors.extend(report.errors)

                    t0 = time.perf_counter()
                    job = asyncio.create_task(sweep_all())
                    done, _ = await asyncio.wait([job], timeout=budget)
                    wall = time.perf_counter() - t0
                    after = (await upstream.get("/_mock/stats")).json()["status_queries"]
                    if not done:  # over budget: stop it and count what it got through
                        job.cancel()
                        await asyncio.gather(job, return_exceptions=True)
                        progressed = await db.tasks.count_documents(
                            {"channel_id": channel["id"], "status": "IN_PROGRESS"})
                        unfinished = (progressed, wall, after - before, tally["sweeps"] + 1)
                        break
                    job.result()
                    walls.append(wall)
                    mock_requests.append(after - before)
                    per_sweep_requests.append(tally["requests"])
                    calls.append(tally["sweeps"])
                    claims.append(sum(claim_times))
                    updated.append(tally["changed"])
                    if time.monotonic() - size_t0 + wall > budget:
                        break  # another repeat would overrun the budget
                meter.stop()
                label = f"{size:,} tasks"
                expected = -(-size // BATCH_SIZE)
                if walls:
                    wall = median(walls)
                    per_size[size] = wall
                    results.add("poll sweep", f"{label}: time to sweep all once", f"{wall:.2f} s",
                                f"{size / wall:,.0f} tasks/s; {wall / size * 1000:.2f} ms/task; "
                                + (spread(walls, "{:.2f}") or "1 run"))
                    results.add("poll sweep", f"{label}: upstream requests", f"{median(mock_requests):.0f}",
                                f"mock status_queries delta (expected {expected} = N / batch_size "
                                f"{BATCH_SIZE}); sweeper counted {median(per_sweep_requests):.0f}")
                    results.add("poll sweep", f"{label}: sweep() calls needed", f"{median(calls):.0f}",
                                f"poll_claim_limit={settings.poll_claim_limit}; tasks changed {median(updated):.0f}")
                    results.add("poll sweep", f"{label}: time in claim_due (lease)", f"{median(claims):.2f} s",
                                f"{median(claims) / wall * 100:.0f}% of the sweep")
                if unfinished and not walls:
                    progressed, wall, requests, sweeps = unfinished
                    rate = progressed / wall if wall else 0
                    if rate:
                        per_size[size] = size / rate
                        estimated.add(size)
                    results.add("poll sweep", f"{label}: time to sweep all once",
                                f"> {wall:.0f} s (stopped)",
                                f"budget {budget:.0f}s: {progressed:,} of {size:,} tasks updated ({rate:,.1f} tasks/s); "
                                f"at that rate all would take ~{size / rate:,.0f} s" if rate else
                                f"budget {budget:.0f}s: no task updated")
                    results.add("poll sweep", f"{label}: upstream requests (until stopped)", str(requests),
                                f"mock status_queries delta (expected {expected} = N / batch_size {BATCH_SIZE}); "
                                f"in sweep() call {sweeps}")
                    results.add("poll sweep", f"{label}: time in claim_due (lease)", f"{sum(claim_times):.2f} s",
                                f"poll_claim_limit={settings.poll_claim_limit}")
                if errors:
                    results.add("poll sweep", f"{label}: sweep errors", str(len(errors)), errors[0][:200])
                results.detail(f"sweep {size:,}: " + meter.summary())
                results.contention("poll sweep", f"{label}: ", meter)
            if len(per_size) >= 2:
                small, large = min(per_size), max(per_size)
                note = " (extrapolated)" if estimated & {small, large} else ""
                results.add("poll sweep", f"growth {small:,} -> {large:,} tasks",
                            f"{per_size[large] / per_size[small]:.1f}x time{note}",
                            f"for {large / small:.0f}x tasks; per task {per_size[large] / large * 1000:.2f} ms "
                            f"vs {per_size[small] / small * 1000:.2f} ms")
        finally:
            await http.aclose()
            await upstream.aclose()
            await broker.stop()
            await mongo.close()
            await admin.close()


async def _filter_costs(db, task_id: str | None, size: int, results: Results, k: int = 10) -> None:
    """What one lookup of a single task costs on the store at this collection size, by `_id`
    alone and by the filters TaskStore's compare-and-swap updates add (read-only, same shapes)."""
    if task_id is None:
        return
    shapes = {
        "_id": {"_id": task_id},
        "finish's _id + status $in": {"_id": task_id, "status": {"$in": POLLED_STATUSES}},
        "advance's _id + status + progress": {"_id": task_id, "status": "SUBMITTED", "progress": "0%"},
    }
    costs = {}
    for name, query in shapes.items():
        t0 = time.perf_counter()
        for _ in range(k):
            await db.tasks.find_one(query, {"_id": 1})
        costs[name] = (time.perf_counter() - t0) / k
    results.add("poll sweep", f"{size:,} tasks: find_one by " + " / ".join(costs),
                " / ".join(f"{c * 1000:.1f}" for c in costs.values()) + " ms",
                f"sequential, mean of {k}; a filter that makes the store scan grows with the collection")
