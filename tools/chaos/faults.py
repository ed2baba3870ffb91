"""Carrying out each fault of the schedule against the running system. A fault returns a line
saying what happened; the load keeps running meanwhile (process restarts wait in a thread)."""
from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from pymongo.asynchronous.database import AsyncDatabase

from shared.crash_points import POINTS
from shared.events import HoldRequested
from shared.kafka import EventPublisher, make_broker
from shared.settings import CommonSettings
from shared.task_events import status_changed
from shared.task_record import Task
from tools.chaos.broker import restart_broker
from tools.chaos.system import ChaosSystem
from tools.chaos.workers import Workers

UPSTREAM_WINDOW_S = 5.0
UPSTREAM_FAULTS = {  # what the mock upstream does to every request during the window
    "error": {"outcome": "error", "error_code": 5001, "error_message": "chaos: upstream refuses"},
    "timeout": {"delay_ms": 3000, "poll_delay_ms": 3000},  # longer than the channels' 2 s timeout
    "429": {"rate_limit": 0},
}
# Which process each crash point is armed in (crash_points.POINTS says where each point sits).
CRASH_TARGETS = {"billing.hold_written": "billing", "gateway.hold_written": "gateway_b", "gateway.hold_placed": "gateway_b",
                 "task.finished": "poller", "settlement.hold_settled": "settlement"}
CRASH_WAIT_S = 60.0  # from the armed start, which takes seconds (more on a crowded machine)
DUPLICATED = 20  # tasks whose events are delivered again, three times each
TERMINATION_GRACE_S = 30.0  # Kubernetes' default terminationGracePeriodSeconds


@dataclass
class FaultContext:
    system: ChaosSystem
    workers: Workers
    db: AsyncDatabase
    broker_dir: Path | None  # the local broker's state folder, when the run may restart it
    settled_before_broker_restart: dict[str, tuple] = field(default_factory=dict)
    ungraceful: list[str] = field(default_factory=list)  # processes the rolling restart had to kill


def target_of(kind: str) -> str:
    """What a fault acts on: two faults on one target never run at once."""
    family, _, target = kind.partition(":")
    if family == "kill":
        return target
    if family == "crash":
        return CRASH_TARGETS[target]
    return family  # the upstream, the workers, the broker, the duplicated deliveries


async def inject(kind: str, ctx: FaultContext) -> str:
    family, _, target = kind.partition(":")
    if family == "kill":
        return await _kill(ctx.system, target)
    if family == "crash":
        return await _crash(ctx.system, target)
    if family == "upstream":
        return await _upstream_window(ctx.system, target)
    if family == "worker":
        return await _worker_drop(ctx.workers)
    if family == "duplicates":
        return await _duplicates(ctx)
    if family == "rolling":
        return await _rolling_restart(ctx)
    if family == "broker":
        assert ctx.broker_dir is not None, "the schedule has a broker restart only when there is one to restart"
        return await restart_broker(ctx.system, ctx.db, ctx.broker_dir, ctx.settled_before_broker_restart)
    raise ValueError(f"unknown fault {kind}")


async def _kill(system: ChaosSystem, name: str) -> str:
    started = time.monotonic()
    await asyncio.to_thread(system.restart, name)
    return f"SIGKILL, back in {time.monotonic() - started:.1f}s"


async def _rolling_restart(ctx: FaultContext) -> str:
    """Every service process in turn (the mock upstream aside), the next once the last is ready
    again; one that outlives its grace period is recorded, and fails the run."""
    exits = []
    for name in [name for name in ctx.system.stack.processes if name != "mock_upstream"]:
        seconds = await asyncio.to_thread(ctx.system.roll, name, TERMINATION_GRACE_S)
        if seconds is None:
            ctx.ungraceful.append(f"{name}: still running {TERMINATION_GRACE_S:.0f}s after SIGTERM")
        exits.append(f"{name} {'-' if seconds is None else f'{seconds:.1f}s'}")
    return "SIGTERM and start, one after another; exited in " + ", ".join(exits)


async def _crash(system: ChaosSystem, point: str) -> str:
    """Restarts the point's process with the point armed, waits for the process to die there (the
    MongoDB write done, what follows it never happened), then starts it normally."""
    assert point in POINTS
    name = CRASH_TARGETS[point]
    process = await asyncio.to_thread(system.start_armed, name, point)
    deadline = time.monotonic() + CRASH_WAIT_S
    while process.proc.poll() is None and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    reached = process.proc.poll() is not None
    await asyncio.to_thread(system.restart, name)
    return "died at the point, restarted" if reached else f"point not reached in {CRASH_WAIT_S:.0f}s, restarted"


async def _upstream_window(system: ChaosSystem, which: str) -> str:
    async with httpx.AsyncClient(base_url=system.stack.upstream_url, timeout=10) as mock:
        (await mock.put("/_mock/faults", json=UPSTREAM_FAULTS[which])).raise_for_status()
        try:
            await asyncio.sleep(UPSTREAM_WINDOW_S)
        finally:
            (await mock.delete("/_mock/faults")).raise_for_status()
    return f"{UPSTREAM_WINDOW_S:.0f}s window"


async def _worker_drop(workers: Workers) -> str:
    workers.drop_next()
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(workers.dropped.wait(), 20)
        return "a worker dropped its socket mid-task"
    return "no worker task arrived in 20s"


async def _duplicates(ctx: FaultContext) -> str:
    """Delivers again, three times each, the terminal status of recent tasks and their hold requests."""
    terminal = await ctx.db.tasks.find({"status": {"$in": ["SUCCESS", "FAILURE"]}}).sort(
        "finished_at", -1).limit(DUPLICATED).to_list(None)
    env = ctx.system.stack.env
    settings = CommonSettings(kafka_bootstrap_servers=env["KAFKA_BOOTSTRAP_SERVERS"],
                              kafka_topic_prefix=env["KAFKA_TOPIC_PREFIX"])
    broker = make_broker(settings, client_id="chaos")
    await broker.start()
    try:
        publisher = EventPublisher(broker, settings, producer="chaos")
        for task in terminal * 3:
            await publisher.publish(status_changed(Task.from_document(task)))
            await publisher.publish(HoldRequested(correlation_id=task["_id"], hold_id=task["hold_id"],
                                                  user_id=task["user_id"], amount=int(task["hold_amount"])))
    finally:
        await broker.stop()
    return f"{len(terminal)} tasks' status change and hold request delivered 3 more times"
