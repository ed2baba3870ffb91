"""Async submissions end to end: clients -> gateway HTTP (POST /pass/{model}/submit) -> hold over
Kafka -> mock upstream submit -> poller -> settlement, every service its own process.

The mock finishes every task `done_after` seconds after its submit, so the instant of completion is
known: how long a client then waits to see it is timed two ways, for every task from the moment
the poller wrote the terminal status (what `GET .../fetch` reads), and for a sample of tasks by a
client polling `fetch` itself every WATCH_EVERY_S."""
from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections import Counter
from pathlib import Path

import httpx
from pymongo import AsyncMongoClient

from bench.common import CpuMeter, Results, load_client, median, ms, peak_rss_mib, percentile
from bench.env import BenchEnv
from shared.clock import parse
from tests.harness.api import AdminApi
from tests.harness.stack import SERVICES


WATCH_ONE_IN = 20  # every 20th accepted task is watched by a polling client
WATCH_EVERY_S = 0.1


async def run(env: BenchEnv, results: Results, *, concurrency: int, duration: float,
              poll_interval: float, done_after: float, settle_timeout: float, idle_s: float = 5.0) -> None:
    with env.stack(SERVICES) as stack:
        admin = AdminApi(stack.gateway_url, stack.admin_token)
        mongo = AsyncMongoClient(env.infra.mongodb_url, tz_aware=True)
        db = mongo[stack.env["MONGODB_DATABASE"]]
        try:
            model = f"bench-video-{secrets.token_hex(3)}"
            await admin.create_channel(name=f"bench-{model}", kind="custompass_async", base_url=stack.upstream_url,
                                       api_key="upstream-secret", models=[f"{model}/submit"],
                                       billing={"mode": "per_call", "price": 1}, poll_interval_s=poll_interval)
            user_id, key = await admin.user_with_key(quota=10**12)
            body = {"prompt": "bench", "mock": {"done_after_ms": int(done_after * 1000)}}
            idle = CpuMeter(env.pids(stack)).start()
            await asyncio.sleep(idle_s)  # what the system costs doing nothing
            idle.stop()
            started: dict[str, float] = {}
            latencies: list[float] = []
            seen_done: dict[str, float] = {}  # watched task -> when its client first saw it terminal
            watchers: list[asyncio.Task] = []
            failures: Counter[str] = Counter()
            first_failure: list[str] = []
            async with load_client(stack.gateway_url, concurrency, timeout=60,
                                   headers={"Authorization": f"Bearer {key}"}) as http:
                warm = 0
                for _ in range(5):  # warm-up: settled like the rest, not counted
                    response = await http.post(f"/pass/{model}/submit", json=body)
                    warm += response.status_code == 200

                async def client(deadline: float) -> None:
                    while time.monotonic() < deadline:
                        at, t0 = time.time(), time.perf_counter()
                        try:
                            response = await http.post(f"/pass/{model}/submit", json=body)
                        except httpx.HTTPError as exc:
                            failures[type(exc).__name__] += 1
                            first_failure[:] = first_failure or [repr(exc)]
                            continue
                        elapsed = time.perf_counter() - t0
                        if response.status_code != 200:
                            failures[f"HTTP {response.status_code}"] += 1
                            first_failure[:] = first_failure or [response.text[:200]]
                            continue
                        latencies.append(elapsed)
                        task_id = response.json()["task_id"]
                        started[task_id] = at
                        if len(started) % WATCH_ONE_IN == 0:
                            watchers.append(asyncio.create_task(watch(task_id, deadline + settle_timeout)))

                async def watch(task_id: str, deadline: float) -> None:
                    while time.monotonic() < deadline:
                        response = await http.get(f"/pass/{model}/task/{task_id}/fetch")
                        if response.status_code == 200 and response.json()["status"] in ("completed", "failed"):
                            seen_done[task_id] = time.time()
                            return
                        await asyncio.sleep(WATCH_EVERY_S)

                meter = CpuMeter(env.pids(stack)).start()
                t0 = time.perf_counter()
                await asyncio.gather(*(client(time.monotonic() + duration) for _ in range(concurrency)))
                submit_wall = time.perf_counter() - t0
                meter.stop()
                drain = CpuMeter(env.pids(stack)).start()
                drain_t0 = time.monotonic()
                await asyncio.gather(*watchers)
                done = 0
                while time.monotonic() - drain_t0 < settle_timeout:
                    done = await db.tasks.count_documents({"user_id": user_id, "settled": True})
                    if done >= len(started) + warm:
                        break
                    await asyncio.sleep(0.5)
                drain_wall = time.monotonic() - drain_t0
                drain.stop()
            docs = await db.tasks.find({"user_id": user_id},
                                       {"status": 1, "finished_at": 1, "submitted_at": 1, "settled": 1,
                                        "settlement": 1, "fail_reason": 1, "upstream_task_id": 1}).to_list(None)
            done_at = {t["task_id"]: t["done_at"] for t in httpx.get(f"{stack.upstream_url}/_mock/tasks").json()}
            rss = {name: peak_rss_mib(pid) for name, pid in env.pids(stack).items()}
            wallet = await admin.wallet(user_id)
            sweeps = _poller_sweeps(stack.log_dir)
        finally:
            await mongo.close()
            await admin.close()

    statuses = Counter(d.get("status") for d in docs if d["_id"] in started)
    reasons = Counter(d.get("fail_reason") for d in docs if d["_id"] in started and d.get("fail_reason"))
    lags, e2e, visible, settled_at = [], [], [], []
    watched = []
    for doc in docs:
        at = started.get(doc["_id"])
        settled = (doc.get("settlement") or {}).get("settled_at")
        if at is None or not settled or not doc.get("finished_at"):
            continue
        settled_ts, finished_ts = parse(settled).timestamp(), parse(doc["finished_at"]).timestamp()
        lags.append(settled_ts - finished_ts)
        e2e.append(settled_ts - at)
        settled_at.append(settled_ts)
        if (completed := done_at.get(doc.get("upstream_task_id"))) is not None:
            visible.append(finished_ts - completed)
            if doc["_id"] in seen_done:
                watched.append(seen_done[doc["_id"]] - completed)
    n = len(latencies)
    results.add("async e2e", f"submissions/s, c={concurrency}", f"{n / submit_wall:,.1f}/s",
                f"{n} accepted in {submit_wall:.1f}s")
    results.add("async e2e", "submit latency p50", ms(percentile(latencies, 50)))
    results.add("async e2e", "submit latency p99", ms(percentile(latencies, 99)))
    if failures:
        results.add("async e2e", "failed submissions", str(sum(failures.values())),
                    f"{dict(failures)}; first: {first_failure[0] if first_failure else ''}"[:300])
    note = f"poll_interval_s={poll_interval}; the mock finishes each task {done_after:g} s after its submit"
    results.add("async e2e", "upstream done -> status visible p50 / p99", 
                f"{ms(percentile(visible, 50))} / {ms(percentile(visible, 99))}",
                f"{len(visible)} tasks: the poller's terminal write (read by fetch) - the mock's completion; {note}")
    results.add("async e2e", "upstream done -> a polling client sees it p50 / p99",
                f"{ms(percentile(watched, 50))} / {ms(percentile(watched, 99))}",
                f"{len(watched)} sampled tasks, each polled by its client every {WATCH_EVERY_S * 1000:.0f} ms")
    results.add("async e2e", "settlement lag p50 (settled_at - finished_at)", ms(percentile(lags, 50)))
    results.add("async e2e", "settlement lag p99", ms(percentile(lags, 99)))
    results.add("async e2e", "submit -> settled p50", ms(percentile(e2e, 50)))
    results.add("async e2e", "submit -> settled p99", ms(percentile(e2e, 99)))
    unsettled = len(started) - len(lags)
    results.add("async e2e", "settled / accepted", f"{len(lags)} / {len(started)}",
                f"drained {drain_wall:.1f}s after the last submit"
                + (f"; {unsettled} not settled within {settle_timeout:.0f}s" if unsettled else ""))
    if settled_at:
        span = max(settled_at) - min(settled_at)
        results.add("async e2e", "settlements/s (first to last settled)",
                    f"{len(settled_at) / span:,.1f}/s" if span > 0 else "-")
    if len(sweeps) >= 2:
        gaps = [b[0] - a[0] for a, b in zip(sweeps, sweeps[1:])]
        results.add("async e2e", "poller: time between sweep reports p50 / max",
                    f"{median(gaps):.2f} / {max(gaps):.2f} s",
                    f"{len(sweeps)} sweeps with work; most tasks in one sweep {max(t for _, t in sweeps)}; "
                    "a sweep starts POLL_TICK_S=0.2 s after the previous one ended")
    idle_total = sum(v for k, v in idle.used.items() if not k.startswith("bench"))
    results.add("async e2e", "idle CPU of the stack (no requests)", f"{idle_total / idle.wall * 100:.0f}% of a core",
                "all services + stand-ins over " f"{idle.wall:.0f}s; see details")
    results.add("async e2e", "peak RSS per process at the end (MiB)",
                ", ".join(f"{name} {mib:.0f}" for name, mib in rss.items() if mib is not None and "bench" not in name),
                "VmHWM from /proc; the stand-ins keep every document and message in memory")
    results.detail("async e2e, idle stack: " + idle.summary())
    results.detail("async e2e, submission phase: " + meter.summary())
    results.detail("async e2e, drain phase: " + drain.summary())
    results.contention("async e2e", "", meter)
    results.detail(f"async e2e: statuses {dict(statuses)}; fail reasons {dict(reasons)}; "
                   f"wallet afterwards {wallet}")


def _poller_sweeps(log_dir: Path) -> list[tuple[float, int]]:
    """(time, tasks) of every sweep the poller process logged (it logs sweeps that had work)."""
    found = []
    for path in sorted(log_dir.glob("poller.*.log")):
        for line in path.read_text(errors="replace").splitlines():
            if '"sweep"' not in line:
                continue
            try:
                entry = json.loads(line)
                found.append((parse(entry["ts"]).timestamp(), int(entry["report"]["total"])))
            except (ValueError, KeyError, TypeError):
                continue
    return sorted(found)
