"""Cost per task (`python -m bench cost`): for each path a task can take (async submit -> poll ->
settle, sync pass-through, worker dispatch), the MongoDB commands and documents written by each
service, the Kafka messages and the CPU milliseconds of every process that one task costs.

Counts do not depend on the machine's speed, so they are the figures to compare between commits.
Each path runs `tasks` tasks at `concurrency` and waits until every one is settled (plus a quiet
moment for trailing writes); what the system does anyway (its idle rate, measured beforehand with
no requests) is subtracted at the same rate over the same wall time. The idle rates are reported
on their own: idle polling is a cost too. Worker-path figures include the claims of echo workers
waiting between tasks, since they exist only because workers wait for work."""
from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

from bench.common import Results, closed_loop
from bench.cost_meter import Meter, Usage
from bench.cost_paths import PATHS, UPSTREAM_KEY, TaskPaths, set_up
from bench.cost_report import report
from bench.cost_timings import shipped_timers
from bench.env import BenchEnv
from tests.harness.stack import SERVICES

WARM_UP_TASKS = 10  # per path, before anything is measured: first-use costs (connections, indexes)
QUIET_S = 1.0  # no settlement for this long ends a window: late tasks and trailing writes land in it
SETTLED_POLL_S = 0.2  # how often settlement's counter is read, while measuring and while idle alike


@dataclass
class PathCost:
    path: str
    tasks: int  # calls made, each one task (the per-task divisor): a refused call costs work too
    accepted: int  # calls the gateway answered with success
    settled: int  # settlements counted within the window (a refused call's late hold may add one)
    failed: list[BaseException]
    window: Usage  # everything measured over the path's window
    cost: Usage  # the window less the idle rate over the same wall time


@dataclass
class CostFigures:
    paths: dict[str, PathCost]
    idle: Usage  # the stack with nothing to do (the baseline subtracted)
    idle_with_workers: Usage  # the same with the echo workers connected and waiting
    idle_after: Usage  # nothing to do again, with every measured task stored


async def run(env: BenchEnv, results: Results, *, tasks: int, concurrency: int, workers: int, idle_s: float,
              poll_interval: float, done_after: float, settle_timeout: float,
              test_timings: bool = False) -> CostFigures:
    timers = {} if test_timings else shipped_timers()
    with env.stack(SERVICES, MOCK_UPSTREAM_KEY=UPSTREAM_KEY, **timers) as stack:
        paths = await set_up(stack, poll_interval=poll_interval, done_after=done_after, concurrency=concurrency)
        meter = Meter({name: process.url for name, process in stack.processes.items()}, env.pids(stack))
        try:
            figures = await _measure(paths, meter, tasks=tasks, concurrency=concurrency, workers=workers,
                                     idle_s=idle_s, settle_timeout=settle_timeout)
        finally:
            await paths.close()
            await meter.close()
    report(results, figures, tasks=tasks, concurrency=concurrency, workers=workers)
    return figures


async def _measure(paths: TaskPaths, meter: Meter, *, tasks: int, concurrency: int, workers: int,
                   idle_s: float, settle_timeout: float) -> CostFigures:
    settled = await meter.settlements()
    for path in PATHS:
        async with online(paths, path, workers):
            _, _, errors = await closed_loop(min(concurrency, WARM_UP_TASKS), WARM_UP_TASKS,
                                             lambda i, p=path: paths.call(p, i))
        if len(errors) == WARM_UP_TASKS:
            raise RuntimeError(f"{path}: every warm-up task failed: {errors[0]!r}")
        settled += WARM_UP_TASKS - len(errors)
    await until_settled(meter, settled, settle_timeout)
    await asyncio.sleep(QUIET_S)
    idle = await _idle(meter, idle_s)
    measured: dict[str, PathCost] = {}
    for path in PATHS:
        async with online(paths, path, workers):
            if path == "worker":  # connected, each has served a task, and the arrivals' writes are done
                settled = await meter.settlements()
                await closed_loop(workers, workers, lambda i: paths.call("worker", i))
                await until_settled(meter, settled + workers, settle_timeout)
                await asyncio.sleep(QUIET_S)
                idle_with_workers = await _idle(meter, idle_s)
            measured[path] = await _window(paths, meter, path, idle, tasks=tasks, concurrency=concurrency,
                                           settle_timeout=settle_timeout)
    idle_after = await _idle(meter, idle_s)
    return CostFigures(measured, idle, idle_with_workers, idle_after)


async def _window(paths: TaskPaths, meter: Meter, path: str, idle: Usage, *, tasks: int, concurrency: int,
                  settle_timeout: float) -> PathCost:
    before, settled = await meter.snapshot(), await meter.settlements()
    _, _, errors = await closed_loop(concurrency, tasks, lambda i: paths.call(path, i))
    accepted = tasks - len(errors)
    await until_settled(meter, settled + accepted, settle_timeout)
    # A call refused in time (503) may still have its hold placed and voided later: the window
    # waits for settlements to stop, so that work is counted too.
    done = await _until_quiet(meter, settle_timeout)
    window = (await meter.snapshot()).minus(before)
    return PathCost(path, tasks, accepted, int(done - settled), errors, window, window.beyond(idle))


async def _idle(meter: Meter, seconds: float) -> Usage:
    """What `seconds` of doing nothing cost, observed the way a measured window is observed."""
    before = await meter.snapshot()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await meter.settlements()
        await asyncio.sleep(SETTLED_POLL_S)
    return (await meter.snapshot()).minus(before)


async def until_settled(meter: Meter, target: float, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while (done := await meter.settlements()) < target:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{target - done:.0f} tasks not settled within {timeout:.0f}s")
        await asyncio.sleep(SETTLED_POLL_S)


async def _until_quiet(meter: Meter, timeout: float) -> float:
    """Waits until no task has been settled for QUIET_S; returns the settlements counted by then."""
    deadline = time.monotonic() + timeout
    last, since = await meter.settlements(), time.monotonic()
    while time.monotonic() - since < QUIET_S and time.monotonic() < deadline:
        await asyncio.sleep(SETTLED_POLL_S)
        if (now := await meter.settlements()) != last:
            last, since = now, time.monotonic()
    return last


def online(paths: TaskPaths, path: str, workers: int):
    return paths.workers_online(workers) if path == "worker" else contextlib.nullcontext()
