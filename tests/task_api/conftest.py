"""One private system for the Task API tests: JWT sign-in and a service token on, a start
timeout of seconds, and an image server on 127.0.0.2 that only the allow-list lets through
(loopback 127.0.0.1 stays refused, so the SSRF tests hold on the same gateway)."""
from __future__ import annotations

import secrets
import struct
import threading
import time
import zlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import jwt
import pytest

from tests.conftest import ARTIFACTS
from tests.harness.api import AdminApi
from tests.harness.stack import SERVICES, Stack, stack_clients

JWT_SECRET = "task-api-test-secret-0123456789abcdef"
SERVICE_TOKEN = "task-api-test-service-token"
START_TIMEOUT_S = 3
IMAGE_HOST = "127.0.0.2"
PRICE = 10


@pytest.fixture(scope="package")
def image_server() -> Iterator[str]:
    """Serves a small real PNG at any path, so a page's <img> loads."""
    png = _png(48, 48, (40, 160, 90))

    class Images(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(png)))
            self.end_headers()
            self.wfile.write(png)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer((IMAGE_HOST, 0), Images)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://{IMAGE_HOST}:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="package")
def task_stack(infra) -> Iterator[Stack]:
    system = Stack(infra, ARTIFACTS, services=SERVICES, extra_env={
        "TASK_API_JWT_SECRET": JWT_SECRET, "TASK_API_SERVICE_TOKEN": SERVICE_TOKEN,
        "TASK_START_TIMEOUT_S": str(START_TIMEOUT_S), "OUTBOUND_URL_ALLOWLIST": f"{IMAGE_HOST}/32"}).start()
    yield system
    system.stop()


@pytest.fixture(scope="package")
async def task_clients(infra, task_stack):
    async with stack_clients(infra, task_stack) as clients:
        yield clients


@pytest.fixture(scope="package")
def task_admin(task_clients) -> AdminApi:
    return task_clients[0]


@pytest.fixture(scope="package")
def task_db(task_clients):
    return task_clients[1]


@pytest.fixture(scope="package")
async def upstream(task_stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=task_stack.upstream_url, timeout=10) as http:
        yield http


@dataclass
class TaskUser:
    user_id: str
    http: httpx.AsyncClient  # sends the user's API key

    async def create(self, type_: str, image: str, params: dict | None = None, **kwargs) -> httpx.Response:
        return await self.http.post("/api/task/create", json={"type": type_, "inputImageUrl": image,
                                                               "params": params or {}}, **kwargs)


def token_for(user_id: str, secret: str = JWT_SECRET, expires_in_s: float = 600) -> str:
    return jwt.encode({"sub": user_id, "exp": int(time.time() + expires_in_s)}, secret, algorithm="HS256")


@pytest.fixture
async def task_user(task_admin, task_stack) -> AsyncIterator:
    clients: list[httpx.AsyncClient] = []

    async def create(quota: int = 100, **fields) -> TaskUser:
        user_id, key = await task_admin.user_with_key(quota=quota, **fields)
        http = httpx.AsyncClient(base_url=task_stack.gateway_url, headers={"Authorization": f"Bearer {key}"},
                                 timeout=30)
        clients.append(http)
        return TaskUser(user_id, http)

    yield create
    for http in clients:
        await http.aclose()


@pytest.fixture
async def task_type(task_admin, task_stack, upstream):
    """A fresh task type served by its own custompass_async channel on the mock upstream, with
    the mock's scenario for its model; `poll_interval_s` long keeps a task pending until told."""
    async def create(scenario: dict | None = None, params_schema: dict | None = None, **channel) -> str:
        name = f"t_{secrets.token_hex(4)}"
        model = f"typed-{name}"
        await task_admin.create_channel(**{
            "name": f"mock-{model}", "kind": "custompass_async", "base_url": task_stack.upstream_url,
            "api_key": "upstream-secret", "models": [f"{model}/submit"],
            "billing": {"mode": "per_call", "price": PRICE}, "poll_interval_s": 0.2, **channel})
        if scenario is not None:
            (await upstream.put(f"/_mock/scenarios/{model}", json=scenario)).raise_for_status()
        created = await task_admin.http.post("/admin/task-types", json={
            "type": name, "model": model, "params_schema": params_schema})
        assert created.status_code == 201, created.text
        return name
    return create


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
