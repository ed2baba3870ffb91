"""One chaos run: start the system, run the load while the schedule's faults strike, stop the
load, let the system drain, then check every invariant."""
from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from tests.harness.stack import Stack
from tools import devinfra
from tools.chaos.checker import TERMINAL, Check, check_all
from tools.chaos.faults import FaultContext, inject, target_of
from tools.chaos.load import run_load
from tools.chaos.report import Report
from tools.chaos.schedule import BROKER, ROLLING, Fault, fault_schedule
from tools.chaos.system import provision, start_system
from tools.chaos.tally import Tally
from tools.chaos.workers import Workers

# Long enough for the slowest casualty: a task that never finishes upstream fails after its
# lifetime (10 s), one never submitted after the submit grace (6 s), then settles.
DRAIN_TIMEOUT_S = 180.0


def run(infra: devinfra.Infra, seed: int, duration_s: float, log_dir: Path, broker_dir: Path | None = None) -> Report:
    """`broker_dir`: the state folder of a local broker (tools/devinfra) that only this run uses;
    given, the schedule ends with a stop and restart of that broker."""
    started = time.monotonic()
    stack = start_system(infra, log_dir)
    try:
        report = asyncio.run(_run(stack, infra, seed, duration_s, broker_dir))
    finally:
        stack.stop()
    report.wall_s = time.monotonic() - started
    return report


async def _run(stack: Stack, infra: devinfra.Infra, seed: int, duration_s: float, broker_dir: Path | None) -> Report:
    system = await provision(stack)
    mongo = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    db = mongo[stack.env["MONGODB_DATABASE"]]
    report = Report(seed, duration_s, Tally())
    try:
        context = FaultContext(system, Workers(system, asyncio.Event()), db, broker_dir)
        await _load_under_faults(context, report)
        upstream = await _upstream_tasks(stack)
        report.task_statuses = Counter([f"{t['status']}" async for t in db.tasks.find({}, {"status": 1})])
        report.checks = await check_all(db, upstream, report.tally, context.settled_before_broker_restart)
        report.checks.append(Check("every process stopped within its grace period on SIGTERM", context.ungraceful))
    finally:
        await mongo.close()
    return report


async def _load_under_faults(context: FaultContext, report: Report) -> None:
    """The load runs until the duration is over and the last fault is done, whichever is later;
    then the system drains, every process up again. The workers keep serving through the drain,
    so queued worker tasks can still finish."""
    system, db, stop_load = context.system, context.db, asyncio.Event()
    serving = asyncio.create_task(context.workers.run())
    load = asyncio.create_task(run_load(system, report.seed, stop_load, report.tally))
    began = time.monotonic()
    try:
        await _strike(fault_schedule(report.seed, report.duration_s, broker=context.broker_dir is not None),
                      context, report, began)
        await asyncio.sleep(max(0.0, began + report.duration_s - time.monotonic()))
    finally:
        stop_load.set()
        await load
    try:
        report.faults += [f"drain: restarted {name}" for name in await asyncio.to_thread(system.start_stopped)]
        drain_started = time.monotonic()
        await drained(db)
        report.drain_s = time.monotonic() - drain_started
    finally:
        context.workers.stop.set()
        await serving


async def _strike(schedule: list[Fault], context: FaultContext, report: Report, began: float) -> None:
    """Each fault starts at its time. Faults on different targets overlap (a restart takes seconds,
    and a crowded machine would otherwise stretch the run); faults on one target (a process, the
    upstream) wait for each other; the broker restart waits for all the others."""
    locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def strike(fault: Fault) -> None:
        await asyncio.sleep(max(0.0, began + fault.at_s - time.monotonic()))
        async with locks[target_of(fault.kind)]:
            started = time.monotonic() - began
            outcome = await inject(fault.kind, context)
        report.faults.append(f"{fault}  (ran {started:5.1f}-{time.monotonic() - began:5.1f}s) -> {outcome}")
        print(f"chaos: {report.faults[-1]}", flush=True)  # a long run shows it is alive

    await asyncio.gather(*(strike(fault) for fault in schedule if fault.kind not in (ROLLING, BROKER)))
    for last in (ROLLING, BROKER):  # each after everything before it, on a system every other fault has left
        for fault in schedule:
            if fault.kind == last:
                await strike(fault)
    report.faults.sort()  # by scheduled time (each line starts with it), whatever order they ended in


async def drained(db: AsyncDatabase) -> None:
    """Waits until every task is terminal and settled and no money operation is in flight."""
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while time.monotonic() < deadline:
        unfinished = await db.tasks.count_documents({"$or": [{"status": {"$nin": TERMINAL}},
                                                             {"settled": {"$ne": True}}]})
        open_holds = await db.holds.count_documents({"state": {"$nin": ["captured", "voided", "rejected"]}})
        in_flight = await db.wallets.count_documents({"pending.0": {"$exists": True}})
        if unfinished == open_holds == in_flight == 0:
            return
        await asyncio.sleep(0.5)
    # The checker names what is stuck; the run fails there, not here.


async def _upstream_tasks(stack: Stack) -> list[dict]:
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.get(f"{stack.upstream_url}/_mock/tasks")
        response.raise_for_status()
        return response.json()
