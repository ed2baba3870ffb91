"""One private system for all the worker dispatch tests (short timeouts, a small queue, two
gateway processes sharing one queue), real WebSocket workers over real sockets, money checks."""
from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient
from websockets.asyncio.client import ClientConnection, connect

from shared.ledger.invariants import wallet_violations
from tests.conftest import ARTIFACTS
from tests.harness.api import AdminApi
from tests.harness.settled import settled_task
from tests.harness.processes import ServiceProcess
from tests.harness.stack import Stack
from tools import devinfra

SERVICES = ("billing", "gateway", "poller", "settlement")
MAX_QUEUE_LENGTH = 5
RESULT_TTL_MS = 10_000
PRICE = 10
# Slow enough that a test sees the queue watch deliver across gateways, not the safety re-check.
DISPATCH_RECHECK_S = 30
# A gateway's start takes seconds on a quiet machine, over a minute on a crowded one.
START_TIMEOUT_S = 180.0


@pytest.fixture(scope="package")
def dispatch_stack(infra) -> Iterator[Stack]:
    system = Stack(infra, ARTIFACTS, services=SERVICES, extra_env={
        "MIN_TASK_TIMEOUT_MS": "1000", "MAX_QUEUE_LENGTH": str(MAX_QUEUE_LENGTH),
        "TASK_RESULT_TTL_MS": str(RESULT_TTL_MS), "DISPATCH_RECHECK_S": str(DISPATCH_RECHECK_S)}).start()
    port = devinfra.free_port()  # Stack.add would allow it only 60 s to start
    gateway_b = ServiceProcess("gateway_b", "services.gateway", port, {**system.env, "GATEWAY_PORT": str(port)},
                               system.log_dir)
    system.processes["gateway_b"] = gateway_b
    try:  # a second gateway that fails to start must not leave the others running
        gateway_b.start().wait_ready(timeout=START_TIMEOUT_S)
        yield system
    finally:
        system.stop()


@pytest.fixture(scope="package")
async def dispatch_admin(dispatch_stack) -> AsyncIterator[AdminApi]:
    api = AdminApi(dispatch_stack.gateway_url, dispatch_stack.admin_token)
    yield api
    await api.close()


@pytest.fixture(scope="package")
async def dispatch_db(infra, dispatch_stack):
    client = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    yield client[dispatch_stack.env["MONGODB_DATABASE"]]
    await client.close()


class Worker:
    """A worker as the seed describes one, over a real WebSocket."""

    def __init__(self, socket: ClientConnection, worker_id: str) -> None:
        self.socket, self.id = socket, worker_id

    async def receive(self, timeout: float = 15) -> dict[str, Any]:
        return json.loads(await asyncio.wait_for(self.socket.recv(), timeout))

    async def send(self, message: dict[str, Any]) -> None:
        await self.socket.send(json.dumps(message))

    async def next_task(self, timeout: float = 15) -> dict[str, Any]:
        message = await self.receive(timeout)
        assert message["type"] == "task", message
        return message

    async def complete(self, task: dict[str, Any], result: Any) -> None:
        await self.send({"type": "task_complete", "taskId": task["taskId"], "result": result, "duration": 5})

    async def fail(self, task: dict[str, Any], error: str) -> None:
        await self.send({"type": "task_error", "taskId": task["taskId"], "error": error, "duration": 5})

    async def receives_nothing(self, within: float) -> bool:
        try:
            message = await asyncio.wait_for(self.socket.recv(), within)
        except TimeoutError:
            return True
        raise AssertionError(f"unexpected message {message}")


@pytest.fixture
async def connect_worker(dispatch_stack) -> AsyncIterator:
    sockets: list[ClientConnection] = []

    async def open_worker(group: str, token: str, *, ready: bool = True, gateway: str = "gateway") -> Worker:
        url = dispatch_stack[gateway].url.replace("http://", "ws://") + f"/ws?group={group}"
        socket = await connect(url, additional_headers={"Authorization": f"Bearer {token}"})
        sockets.append(socket)
        hello = json.loads(await asyncio.wait_for(socket.recv(), 10))
        assert hello["type"] == "connected" and hello["message"] == "Connected to Task Dispatcher", hello
        worker = Worker(socket, hello["workerId"])
        if ready:
            await worker.send({"type": "ready"})
        return worker

    yield open_worker
    for socket in sockets:
        await socket.close()


@pytest.fixture
async def worker_group(dispatch_admin) -> AsyncIterator:
    """A fresh group: a worker channel pricing it (per_call 10 unless told) and a worker token."""
    async def create(billing: dict | None = None) -> tuple[str, str]:
        group = f"g-{secrets.token_hex(4)}"
        await dispatch_admin.create_channel(name=f"worker-{group}", kind="worker", group=group, models=["default"],
                                            billing=billing or {"mode": "per_call", "price": PRICE})
        response = await dispatch_admin.http.post("/admin/worker-tokens", json={"group": group})
        assert response.status_code == 201, response.text
        return group, response.json()["token"]
    return create


@pytest.fixture
async def dispatch_client(dispatch_admin, dispatch_stack) -> AsyncIterator:
    clients: list[httpx.AsyncClient] = []

    async def create(quota: int = 100, gateway: str = "gateway") -> tuple[str, httpx.AsyncClient]:
        user_id, key = await dispatch_admin.user_with_key(quota=quota)
        http = httpx.AsyncClient(base_url=dispatch_stack[gateway].url, headers={"Authorization": f"Bearer {key}"},
                                 timeout=30)
        clients.append(http)
        return user_id, http

    yield create
    for http in clients:
        await http.aclose()


@pytest.fixture
def settled(dispatch_db):
    """Waits until the task is settled; returns its one consumption log, after checking the
    wallet keeps the money rules."""
    async def wait(task_id: str) -> dict[str, Any]:
        task = await settled_task(dispatch_db, task_id)
        logs = await dispatch_db.consumption_logs.find({"task_id": task_id}).to_list(None)
        assert len(logs) == 1, logs
        assert await wallet_violations(dispatch_db, task["user_id"]) == []
        return logs[0]
    return wait
