"""The system under test: every service as its own process (two gateways, two pollers, billing,
settlement, the mock upstream), started and restarted through the test harness, plus the
channels, users and worker token the load needs."""
from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.harness.api import AdminApi
from tests.harness.processes import ServiceProcess
from tests.harness.stack import SERVICES, Stack
from tools import devinfra

# Short deadlines so that every fault's casualties end within the drain: a task never submitted
# fails after TASK_SUBMIT_GRACE_S, a gateway waits HOLD_REPLY_TIMEOUT_S for billing.
CHAOS_ENV = {
    "TASK_SUBMIT_GRACE_S": "6",
    "HOLD_REPLY_TIMEOUT_S": "3",
    "MIN_TASK_TIMEOUT_MS": "1000",
    "WORKER_HEARTBEAT_S": "1",
    "WORKER_STALE_S": "4",
    "CHANNEL_COOLDOWN_S": "3",
    "CALLBACK_ATTEMPTS": "1",
    "KAFKA_PUBLISH_TIMEOUT_S": "1",  # while the broker is down, callers get their 503 this fast
    "HOLD_PLACEMENT": "billing",  # the first gateway asks billing; the second places its holds itself
}
SECOND_INSTANCES = {"gateway_b": "gateway", "poller_b": "poller"}
SECOND_INSTANCE_ENV = {"gateway_b": {"HOLD_PLACEMENT": "gateway"}}
START_TIMEOUT_S = 180.0  # a start takes seconds on a quiet machine, far more on a crowded one
USERS = 16
WALLET = 60  # small: rejections for want of quota happen throughout the run
WORKER_GROUP = "chaos"
ASYNC_MODEL, USAGE_MODEL, SYNC_MODEL = "video", "usage", "chat"
USAGE_HOLD = 30  # per_usage tasks hold this and cost their tokens: above or below it
TASK_LIFETIME_S = 10.0  # upstream work that never ends fails as `timeout` after this


@dataclass
class User:
    id: str
    key: str
    topups: list[str] = field(default_factory=list)  # request ids the admin API acknowledged


@dataclass
class ChaosSystem:
    stack: Stack
    users: list[User]
    worker_token: str

    @property
    def gateways(self) -> list[str]:
        return [self.stack["gateway"].url, self.stack["gateway_b"].url]

    def process(self, name: str) -> ServiceProcess:
        return self.stack[name]

    def restart(self, name: str) -> None:
        """SIGKILL, then start again and wait until ready."""
        self.start_armed(name, None).wait_ready(timeout=START_TIMEOUT_S, path="/readyz")

    def roll(self, name: str, grace_s: float) -> float | None:
        """A rollout's restart: SIGTERM, then start again once it exited and wait until ready.
        Returns the seconds it took to exit, or None when it outlived `grace_s` (then SIGKILL,
        as Kubernetes does after terminationGracePeriodSeconds)."""
        process = self.stack[name]
        started = time.monotonic()
        process.signal(signal.SIGTERM)
        try:
            process.proc.wait(timeout=grace_s)
            stopped: float | None = time.monotonic() - started
        except subprocess.TimeoutExpired:
            stopped = None
            process.kill()
        process.env = {**self.stack.env, **_instance_env(process.name, process.port)}
        process.start().wait_ready(timeout=START_TIMEOUT_S, path="/readyz")
        return stopped

    def start_armed(self, name: str, crash_point: str | None) -> ServiceProcess:
        """SIGKILL, then start again without waiting: with `crash_point` armed, it may die
        there before it would ever answer as ready."""
        process = self.stack[name]
        process.kill()
        armed = {"CUSTOMPASS_CRASH_AT": crash_point} if crash_point else {}
        process.env = {**self.stack.env, **_instance_env(process.name, process.port), **armed}
        return process.start()

    def start_stopped(self) -> list[str]:
        """Starts every service process that is not running (one a crash point ended); returns their names."""
        revived = []
        for name, process in self.stack.processes.items():
            if process.proc is None or process.proc.poll() is not None:
                self.restart(name)
                revived.append(name)
        return revived


def _instance_env(name: str, port: int) -> dict[str, str]:
    """The process's own port, and what a second instance sets apart from the first."""
    service = SECOND_INSTANCES.get(name, name)
    return {SERVICES[service][1]: str(port), **SECOND_INSTANCE_ENV.get(name, {})}


def start_system(infra: devinfra.Infra, log_dir: Path) -> Stack:
    stack = Stack(infra, log_dir, services=SERVICES, extra_env=CHAOS_ENV).start()
    try:
        for name, service in SECOND_INSTANCES.items():
            port = devinfra.free_port()
            process = ServiceProcess(name, SERVICES[service][0], port,
                                     {**stack.env, **_instance_env(name, port)}, stack.log_dir)
            stack.processes[name] = process
            process.start().wait_ready(timeout=START_TIMEOUT_S)
    except BaseException:
        stack.stop()
        raise
    return stack


async def provision(stack: Stack) -> ChaosSystem:
    """Channels for every path (async per call and per usage, sync, workers), users, a worker token."""
    admin = AdminApi(stack.gateway_url, stack.admin_token)
    try:
        common = {"base_url": stack.upstream_url, "api_key": "upstream-secret", "timeout_s": 2.0}
        await admin.create_channel(name="chaos-async", kind="custompass_async", models=[f"{ASYNC_MODEL}/submit"],
                                   billing={"mode": "per_call", "price": 10}, poll_interval_s=0.3,
                                   task_lifetime_s=TASK_LIFETIME_S, **common)
        await admin.create_channel(name="chaos-usage", kind="custompass_async", models=[f"{USAGE_MODEL}/submit"],
                                   billing={"mode": "per_usage", "price": 1000, "precharge": USAGE_HOLD},
                                   poll_interval_s=0.3, task_lifetime_s=TASK_LIFETIME_S, **common)
        await admin.create_channel(name="chaos-sync", kind="custompass_sync", models=[SYNC_MODEL],
                                   billing={"mode": "per_call", "price": 5}, **common)
        await admin.create_channel(name="chaos-workers", kind="worker", group=WORKER_GROUP, models=["default"],
                                   billing={"mode": "per_call", "price": 8})
        response = await admin.http.post("/admin/worker-tokens", json={"group": WORKER_GROUP})
        assert response.status_code == 201, response.text
        users = await asyncio.gather(*(admin.user_with_key(quota=WALLET) for _ in range(USERS)))
        return ChaosSystem(stack, [User(uid, key) for uid, key in users], response.json()["token"])
    finally:
        await admin.close()
