"""The broker stopped under load and started again: the local stand-in (Tansu) keeps nothing in
memory across a restart, so every event in flight, every consumer position and every topic is gone.

While it is down, probe submits measure what callers get (503 `billing_unavailable`, and how
fast). Once it is back, the services are restarted at once, since they create their topics at
start and nothing else does (waiting first for billing to answer on the empty broker only ever
timed out), and a submit through each gateway must then be answered by billing again (any answer
but 503) within `RECOVER_S`. The money settled before the stop must be exactly as it was.
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
RECOVER_S = 15.0


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
    up_at = time.monotonic()
    await asyncio.gather(*(asyncio.to_thread(system.restart, name) for name in system.stack.processes
                           if name != "mock_upstream"))
    after = ("services restarted (the broker came back without topics), then billing answered both gateways "
             f"{time.monotonic() - up_at:.1f}s after the broker's restart" if await _billing_answers(system)
             else f"services restarted, and billing still silent {RECOVER_S:.0f}s later")
    return f"down {up_at - down_at:.1f}s; submits meanwhile: {probes}; {after}"


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


async def _billing_answers(system: ChaosSystem) -> bool:
    """A submit through each gateway answered by billing (placed or refused, not 503)."""
    deadline = time.monotonic() + RECOVER_S
    async with httpx.AsyncClient(timeout=10, headers={"Authorization": f"Bearer {system.users[0].key}"}) as http:
        waiting = list(system.gateways)
        while waiting and time.monotonic() < deadline:
            try:
                response = await http.post(f"{waiting[0]}/pass/{ASYNC_MODEL}/submit", json={"mock": {}})
                if response.status_code != 503:
                    waiting.pop(0)
                    continue
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.5)
        return not waiting

