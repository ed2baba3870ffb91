"""`make run` heals itself (tools/supervisor.py): under the chaos run's load, each of its four
services is SIGKILLed in turn (the next one while the last is still starting again) and comes
back by itself while the others keep serving; then every
task ends terminal and settled and every wallet equals its ledger, judged by the chaos run's own
checker (tools/chaos/checker.py). The run has its own stand-ins on free ports, as `make run` would."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from pymongo import AsyncMongoClient

from tests.harness.stack import TEST_ENV
from tests.tools.test_run_local import NOT_INHERITED, PORT_VARS, RunLocal, free_ports
from tools.chaos.checker import check_all
from tools.chaos.load import run_load
from tools.chaos.runner import drained
from tools.chaos.system import CHAOS_ENV, ChaosSystem, provision
from tools.chaos.tally import Tally
from tools.chaos.workers import Workers
from tools.run_local import ROOT
from tools.supervisor import RUNNING, read_status

pytestmark = pytest.mark.chaos

KILLED = ("billing", "gateway", "poller", "settlement")
SEED = 24
COME_BACK_S = 60.0  # a restart takes seconds (10 or more on a crowded machine)
LOAD_BEFORE_KILL_S = 1.0  # work in flight when the kill strikes


@dataclass
class LocalStack:
    """What the chaos provisioning and load need of a stack, for `make run`'s single gateway."""
    gateway_url: str
    admin_token: str
    upstream_url: str

    def __getitem__(self, _name: str) -> SimpleNamespace:  # "gateway" and "gateway_b": the one gateway
        return SimpleNamespace(url=self.gateway_url)


async def restarted(run_dir: Path, name: str, old_pid: int, running: bool) -> dict:
    """`name`'s status once the supervisor started it again (and, with `running`, once it answers)."""
    deadline = time.monotonic() + COME_BACK_S
    while time.monotonic() < deadline:
        child = read_status(run_dir)["processes"][name]
        if child["pid"] not in (None, old_pid) and (child["state"] == RUNNING or not running):
            return child
        await asyncio.sleep(0.2)
    raise AssertionError(f"{name} not back after {COME_BACK_S:.0f}s: {read_status(run_dir)}")


async def kill_each_under_load(run_dir: Path, system: ChaosSystem, db, tally: Tally) -> list[str]:
    stop_load, stop_workers = asyncio.Event(), asyncio.Event()
    workers = asyncio.create_task(Workers(system, stop_workers).run())
    load = asyncio.create_task(run_load(system, SEED, stop_load, tally))
    seen, killed, began = [], [], time.monotonic()
    try:
        for name in KILLED:
            await asyncio.sleep(LOAD_BEFORE_KILL_S)
            pid = read_status(run_dir)["processes"][name]["pid"]
            os.kill(pid, signal.SIGKILL)
            killed.append((name, pid, time.monotonic()))
            await restarted(run_dir, name, pid, running=False)  # the next kill strikes while it starts
        for name, pid, killed_at in killed:
            child = await restarted(run_dir, name, pid, running=True)
            seen.append(f"{name}: pid {pid} killed at {killed_at - began:.1f}s, back as {child['pid']}, "
                        f"running at {time.monotonic() - began:.1f}s (restarts {child['restarts']})")
        await asyncio.sleep(LOAD_BEFORE_KILL_S)  # served again after the last kill
    finally:
        stop_load.set()
        await load
    try:
        await drained(db)
        seen.append(f"drained at {time.monotonic() - began:.1f}s")
    finally:
        stop_workers.set()
        await workers
    return seen


def make(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "-s", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.timeout(300)
async def test_each_service_killed_under_load_comes_back_and_money_stays_exact(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    env.update({**TEST_ENV, **CHAOS_ENV, "CUSTOMPASS_RUN_DIR": str(run_dir)})
    env.update({var: str(port) for var, port in zip(PORT_VARS, free_ports(len(PORT_VARS)))})
    run = RunLocal(env)
    mongo = AsyncMongoClient(f"mongodb://127.0.0.1:{env['LOCAL_MONGO_PORT']}/?directConnection=true", tz_aware=True)
    try:
        block = run.ready_block()
        stack = LocalStack(block["Gateway"], block["Admin token"], f"http://127.0.0.1:{env['MOCK_UPSTREAM_PORT']}")
        system = await provision(stack)
        db, tally = mongo["custompass"], Tally()
        seen = await kill_each_under_load(run_dir, system, db, tally)
        async with httpx.AsyncClient(timeout=30) as http:
            upstream = (await http.get(f"{stack.upstream_url}/_mock/tasks")).json()
        checks = await check_all(db, upstream, tally, {})
        statuses = Counter([t["status"] async for t in db.tasks.find({}, {"status": 1})])
        restarted = make("restart", "SERVICE=billing", env=env)  # the operator's restart, as documented
        shown = make("status", env=env)
        status = read_status(run_dir)
        assert run.proc.poll() is None, "".join(run.output)  # the run went on throughout
    finally:
        await mongo.close()
        if run.proc.poll() is None:
            run.interrupt()
        subprocess.run([sys.executable, "-m", "tools.run_local", "--stop"], cwd=ROOT, env=env, check=False)
    report = "\n".join([*seen, f"tasks: {dict(statuses)}", f"answers: {dict(tally.answers)}",
                        *(f"{'ok  ' if c.passed else 'FAIL'} {c.name}: {c.note} {c.offending[:5]}" for c in checks)])
    print(report)
    assert all(c.passed for c in checks), report
    assert restarted.returncode == 0 and "billing: running" in restarted.stdout, restarted
    assert {name: p["restarts"] for name, p in status["processes"].items()} == {
        "kafka": 0, "mongo": 0, "mock_upstream": 0, **dict.fromkeys(KILLED, 1), "billing": 2}, status
    assert shown.returncode == 0 and "status: 7/7 running; restarts: billing 2, gateway 1" in shown.stdout, shown
    assert all(p["state"] == RUNNING for p in status["processes"].values()), status
    assert sum(statuses.values()) > 20 and tally.answers["async 200"] > 10, report
