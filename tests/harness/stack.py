"""A whole CustomPass system for tests: every service as its own process, isolated from other
stacks on the same broker and database by a topic prefix and a database name."""
from __future__ import annotations

import contextlib
import secrets
import signal
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from tests.harness.api import AdminApi
from tests.harness.processes import ServiceProcess
from tools import devinfra

SERVICES = {
    "billing": ("services.billing", "BILLING_PORT"),
    "gateway": ("services.gateway", "GATEWAY_PORT"),
    "poller": ("services.poller", "POLLER_PORT"),
    "settlement": ("services.settlement", "SETTLEMENT_PORT"),
    "mock_upstream": ("tools.mock_upstream", "MOCK_UPSTREAM_PORT"),
}
HEALTH_PATH = {"mock_upstream": "/_mock/stats"}

# Short consumer-group timings (a join takes half the session timeout) and short leases keep
# restarts and recoveries quick in tests; production keeps the defaults.
TEST_ENV = {
    "KAFKA_SESSION_TIMEOUT_MS": "3000",
    "KAFKA_HEARTBEAT_INTERVAL_MS": "500",
    "LEDGER_LEASE_S": "3",
    "RECOVERY_INTERVAL_S": "1",
    "RECONCILE_INTERVAL_S": "0.5",
    "RECONCILE_AFTER_S": "2",
    "POLL_TICK_S": "0.2",
    "POLL_IDLE_S": "1.0",  # tests that store a task themselves see it swept within a second
    "LATE_WATCH_TICK_S": "0.2",
    "WEBHOOK_RECEIPT_PURGE_INTERVAL_S": "0.5",
    "CALLBACK_SIGNING_SECRET": "test-callback-secret",
    "TASK_WATCH_POLL_S": "0.1",  # waiting submits and event streams see changes quickly
    "EVENT_STREAM_KEEPALIVE_S": "1",
    "WEBHOOK_SEND_INTERVAL_S": "0.1",  # webhook deliveries and their retries go out quickly
    "WEBHOOK_IDLE_S": "0.5",  # and the gateway's `start` ones, recorded without a wake
    "WEBHOOK_RETRY_BASE_S": "0.2",
    "WEBHOOK_SIGNING_SECRET": "whsec_dGVzdC13ZWJob29rLXNpZ25pbmcta2V5LTAxMjM0NQ==",
    "USER_REF_SECRET": "test-user-ref-secret-of-32-characters",
    "TASK_RECEIPT_SIGNING_KEY": "test-receipt-signing-key-of-32-chars",  # gateway and settlement alike
    "TASK_RECEIPT_KEY_ID": "test-receipts-1",
    # Callback receivers and upstream result files listen on 127.0.0.1 here. Only that address:
    # other loopback addresses (127.0.0.2, ::1), private and metadata ones stay refused, so tests
    # can show the outbound-URL policy at work.
    "OUTBOUND_URL_ALLOWLIST": "127.0.0.1/32",
    "LOG_LEVEL": "INFO",
}


class Stack:
    def __init__(self, infra: devinfra.Infra, log_dir: Path, services: Iterable[str],
                 extra_env: dict[str, str] | None = None) -> None:
        self.id = secrets.token_hex(4)
        self.admin_token = f"admin-{secrets.token_hex(16)}"
        self.log_dir = log_dir / f"stack-{self.id}"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        ports = {name: devinfra.free_port() for name in SERVICES}
        self.env = {
            **infra.env(), **TEST_ENV,
            "MONGODB_DATABASE": f"cp_test_{self.id}",
            "KAFKA_TOPIC_PREFIX": f"t{self.id}.",
            "CUSTOMPASS_ADMIN_TOKEN": self.admin_token,
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{ports['gateway']}",  # where mock upstreams send webhooks
            "RESULT_STORAGE_DIR": str(self.log_dir / "results"),  # shared by the stack's gateway and pollers
            **{SERVICES[name][1]: str(port) for name, port in ports.items()},
            **(extra_env or {}),
        }
        self.processes = {name: ServiceProcess(name, SERVICES[name][0], ports[name], self.env, self.log_dir)
                          for name in services}

    def __getitem__(self, name: str) -> ServiceProcess:
        return self.processes[name]

    @property
    def gateway_url(self) -> str:
        return self.processes["gateway"].url

    @property
    def upstream_url(self) -> str:
        return f"http://127.0.0.1:{self.env['MOCK_UPSTREAM_PORT']}"

    def start_mock(self, name: str, module: str, port_variable: str, **env: str) -> ServiceProcess:
        """A mock upstream process beside this stack (e.g. `tools.mock_replicate`), stopped with it."""
        port = devinfra.free_port()
        env = {**self.env, **env, port_variable: str(port)}
        self.processes[name] = ServiceProcess(name, module, port, env, self.log_dir)
        self.processes[name].start().wait_ready(path="/_mock/stats")
        return self.processes[name]

    def start(self) -> "Stack":
        """Starts every process; if one never gets ready, stops them all before raising, so a
        failed start leaves nothing running."""
        try:
            for process in self.processes.values():
                process.start()
            for name, process in self.processes.items():
                process.wait_ready(path=HEALTH_PATH.get(name, "/readyz"))
        except BaseException:
            self.stop()
            raise
        return self

    def add(self, name: str, service: str) -> ServiceProcess:
        """Another process of `service` (e.g. a second poller) in this stack."""
        module = SERVICES[service][0]
        port = devinfra.free_port()
        env = {**self.env, SERVICES[service][1]: str(port)}
        self.processes[name] = ServiceProcess(name, module, port, env, self.log_dir)
        self.processes[name].start().wait_ready(path=HEALTH_PATH.get(service, "/readyz"))
        return self.processes[name]

    def restart(self, name: str) -> None:
        process = self.processes[name]
        process.kill()
        process.start().wait_ready(path=HEALTH_PATH.get(name, "/readyz"))

    def stop(self) -> None:
        """SIGTERM to all at once (each shuts down gracefully), then wait for each."""
        for process in self.processes.values():
            process.signal(signal.SIGTERM)
        for process in self.processes.values():
            process.wait()


@contextlib.asynccontextmanager
async def stack_clients(infra: devinfra.Infra, stack: Stack) -> AsyncIterator[tuple[AdminApi, AsyncDatabase]]:
    """The admin API of a private stack and its database, for a package's own fixtures."""
    admin = AdminApi(stack.gateway_url, stack.admin_token)
    mongo = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    try:
        yield admin, mongo[stack.env["MONGODB_DATABASE"]]
    finally:
        await admin.close()
        await mongo.close()
