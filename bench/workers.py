"""Worker dispatch end to end: clients -> gateway HTTP (sync POST /api/openai) -> hold (as
HOLD_PLACEMENT says) -> an idle worker reserved at the submission, or the queue in MongoDB ->
echo workers over WebSocket -> result -> settlement, every service its own process and the
workers in this one."""
from __future__ import annotations

import asyncio
import json
import secrets

from pymongo import AsyncMongoClient
from websockets.asyncio.client import connect

from bench.common import CpuMeter, Results, closed_loop, load_client, ms, percentile
from bench.env import BenchEnv
from tests.harness.api import AdminApi

SERVICES = ("billing", "gateway", "poller", "settlement")


async def echo_worker(url: str, ready: asyncio.Event | None = None) -> None:
    """Answers every task at once with its payload: the dispatch path is all that is measured.
    `ready` is set once the gateway has taken the worker in (its `connected`) and heard it ready."""
    async with connect(url) as socket:
        async for raw in socket:
            message = json.loads(raw)
            if message["type"] == "connected":
                await socket.send(json.dumps({"type": "ready"}))
                if ready is not None:
                    ready.set()
            elif message["type"] == "task":
                await socket.send(json.dumps({"type": "task_complete", "taskId": message["taskId"],
                                              "result": message["payload"], "duration": 0}))


async def run(env: BenchEnv, results: Results, *, workers: int, concurrency: int, count: int) -> None:
    with env.stack(SERVICES) as stack:
        admin = AdminApi(stack.gateway_url, stack.admin_token)
        mongo = AsyncMongoClient(env.infra.mongodb_url, tz_aware=True)
        db = mongo[stack.env["MONGODB_DATABASE"]]
        serving: list[asyncio.Task] = []
        try:
            group = f"bench-{secrets.token_hex(3)}"
            await admin.create_channel(name=group, kind="worker", group=group, models=["default"],
                                       billing={"mode": "per_call", "price": 1})
            token = (await admin.http.post("/admin/worker-tokens", json={"group": group})).json()["token"]
            user_id, key = await admin.user_with_key(quota=10**12)
            url = stack.gateway_url.replace("http://", "ws://") + f"/ws?group={group}&token={token}"
            serving = [asyncio.create_task(echo_worker(url)) for _ in range(workers)]
            async with load_client(stack.gateway_url, concurrency, timeout=60,
                                   headers={"Authorization": f"Bearer {key}"}) as http:
                async def call(i: int) -> None:
                    response = await http.post("/api/openai", json={"data": {"i": i}, "group": group})
                    if response.status_code != 200:
                        raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")

                await closed_loop(workers, 20, call)  # warm-up (and every worker connected): not counted
                meter = CpuMeter(env.pids(stack)).start()
                latencies, wall, errors = await closed_loop(concurrency, count, call)
                meter.stop()
            docs = await db.tasks.find({"user_id": user_id, "started_ms": {"$exists": True}},
                                       {"enqueued_ms": 1, "started_ms": 1}).to_list(None)
        finally:
            for task in serving:
                task.cancel()
            await asyncio.gather(*serving, return_exceptions=True)
            await mongo.close()
            await admin.close()
    waits = [(d["started_ms"] - d["enqueued_ms"]) / 1000 for d in docs]
    scenario = "workers"
    results.add(scenario, f"tasks/s, {workers} echo workers, c={concurrency}", f"{len(latencies) / wall:,.1f}/s",
                f"{len(latencies)} completed in {wall:.1f}s")
    results.add(scenario, "sync call latency p50", ms(percentile(latencies, 50)), "POST /api/openai -> result")
    results.add(scenario, "sync call latency p99", ms(percentile(latencies, 99)))
    reserved = sum(wait <= 0.001 for wait in waits)
    results.add(scenario, "dispatch latency p50 (submitted -> claimed)", ms(percentile(waits, 50)),
                f"{reserved} of {len(waits)} stored as the worker's at once (one waited idle: 0 ms); "
                "the others waited for the hold, then for a free worker")
    results.add(scenario, "dispatch latency p99", ms(percentile(waits, 99)))
    if errors:
        results.add(scenario, "failed calls", str(len(errors)), repr(errors[0])[:300])
    results.detail("workers: " + meter.summary())
    results.contention(scenario, "", meter)
