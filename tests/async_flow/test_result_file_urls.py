"""Result files are copied only from addresses the outbound-URL policy admits: an upstream naming
a loopback file (127.0.0.2 here; the test stack allows 127.0.0.1 only) gets no request from the
poller's copier, and the task still succeeds with the upstream's URL and the reason recorded."""
from __future__ import annotations

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from tests.async_flow.test_async_flow import settled
from tests.harness.loopback_servers import on_both_loopbacks


class _Files(BaseHTTPRequestHandler):
    requested: list = []

    def do_GET(self):  # noqa: N802 (http.server's naming)
        type(self).requested.append((self.server.server_address[0], self.path))
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", "4")
        self.end_headers()
        self.wfile.write(b"\x89PNG")

    def log_message(self, *args):
        pass


@pytest.fixture
def file_servers() -> Iterator[tuple[dict[str, str], list]]:
    _Files.requested = []
    with on_both_loopbacks(_Files) as bases:
        yield bases, _Files.requested


async def test_a_result_file_on_a_refused_address_is_not_downloaded(async_channel, make_client, mongo_db,
                                                                    file_servers, stack):
    hosts, requested = file_servers
    inside, allowed = f"{hosts['127.0.0.2']}/secret.png", f"{hosts['127.0.0.1']}/fine.png"
    model, _ = await async_channel(result_storage="local")
    client = await make_client(quota=100)
    task_id = (await client.submit(model, {"prompt": "p", "mock": {"result": {"inside": inside,
                                                                              "allowed": allowed}}})).json()["task_id"]
    await settled(client, model, task_id, mongo_db)
    task = await mongo_db.tasks.find_one({"_id": task_id})
    assert task["status"] == "SUCCESS"
    assert task["result"]["inside"] == inside  # kept as the upstream named it
    assert task["result"]["allowed"].startswith(f"{stack.gateway_url}/results/{task_id}/")
    assert task["result_storage_errors"] == [f"{inside}: refused by the outbound-URL policy: the URL points to a "
                                             "private, loopback or reserved address (127.0.0.2)"]
    assert requested == [("127.0.0.1", "/fine.png")]
