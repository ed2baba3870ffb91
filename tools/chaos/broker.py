"""The broker stopped under load and started again: the local stand-in (Tansu) keeps nothing in
memory across a restart, so every event in flight and every consumer position is gone.

While it is down, probe submits measure what callers get (503 `billing_unavailable`, and how
fast); after it is back, every service must be ready again (one that is not within
`RECOVER_S` is restarted, and the report says so), and the money settled before the stop must
be exactly as it was.
"""
from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from pathlib import Path

import httpx
from pymongo.asynchronous.database import AsyncDatabase

from tools import devinfra
from tools.chaos.system import ASYNC_MODEL, ChaosSystem

DOWN_S = 6.0
PROBES = 8
RECOVER_S = 30.0


async def restart_broker(system: ChaosSystem, db: AsyncDatabase, state_dir: Path,
                         settled_before: dict[str, tuple]) -> str:
    """`settled_before` is filled with every ended hold as it was just before the stop."""
    settled_before.update(await settled_holds(db))
    port = int(system.stack.env["KAFKA_BOOTSTRAP_SERVERS"].rsplit(":", 1)[1])
    devinfra.stop_pid(int((state_dir / "kafka.pid").read_text()))
    down_at = time.monotonic()
    probes = await _probe(system)
    await asyncio.sleep(max(0.0, down_at + DOWN_S - time.monotonic()))
    await asyncio.to_thread(devinfra.start_kafka, state_dir, port)
    restarted = await asyncio.to_thread(_ready_or_restarted, system)
    return (f"down {time.monotonic() - down_at:.1f}s; submits meanwhile: {probes}; "
            f"after restart: {'restarted ' + ', '.join(restarted) if restarted else 'every service ready again'}")


async def settled_holds(db: AsyncDatabase) -> dict[str, tuple]:
    return {h["_id"]: (h["state"], h.get("charged"), h.get("refunded"), h.get("debt"))
            async for h in db.holds.find({"state": {"$in": ["captured", "voided"]}})}


async def _probe(system: ChaosSystem) -> str:
    """Submits through both gateways while the broker is down: their answers and latencies."""
    answers: Counter[str] = Counter()
    latencies: list[float] = []

    async def submit(http: httpx.AsyncClient, gateway: str) -> None:
        started = time.monotonic()
        try:
            response = await http.post(f"{gateway}/pass/{ASYNC_MODEL}/submit", json={"mock": {}})
            answers[f"{response.status_code} {response.json().get('code', '')}".strip()] += 1
        except httpx.TransportError:
            answers["unreachable"] += 1
        latencies.append(time.monotonic() - started)

    async with httpx.AsyncClient(timeout=30, headers={"Authorization": f"Bearer {system.users[0].key}"}) as http:
        await asyncio.gather(*(submit(http, system.gateways[i % 2]) for i in range(PROBES)))
    return f"{dict(answers)}, latency p50 {statistics.median(latencies):.2f}s max {max(latencies):.2f}s"


def _ready_or_restarted(system: ChaosSystem) -> list[str]:
    restarted = []
    for name, process in system.stack.processes.items():
        path = "/_mock/stats" if name == "mock_upstream" else "/readyz"
        try:
            process.wait_ready(timeout=RECOVER_S, path=path)
        except (TimeoutError, RuntimeError):
            system.restart(name)
            restarted.append(name)
    return restarted
