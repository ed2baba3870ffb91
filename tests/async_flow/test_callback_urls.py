"""`callback_url` passes the outbound-URL policy when a task is submitted (400
`invalid_callback_url`, no task, no hold otherwise) and again when settlement delivers it: a URL
that points inside by then is never posted to. The test stack allows 127.0.0.1 only; 127.0.0.2
is loopback all the same, and refused."""
from __future__ import annotations

import secrets
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from tests.async_flow.test_async_flow import settled
from tests.harness.api import eventually
from tests.harness.loopback_servers import on_both_loopbacks

REFUSED = ["file:///etc/passwd", "gopher://127.0.0.1:6379/_INFO", "ftp://8.8.8.8/x", "http://127.0.0.2:8083/",
           "http://[::1]:8080/", "http://2130706434/", "http://0x7f000002/", "http://169.254.169.254/latest/meta-data",
           "http://10.0.0.1/", "http://[::ffff:10.0.0.1]/", "http://[64:ff9b::a9fe:a9fe]/", "http://[2002:7f00:2::]/",
           "http://user:secret@8.8.8.8/", "https://8.8.8.8/" + "a" * 2048, "", 42, {"url": "http://8.8.8.8/"}]


class _Receiver(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 (http.server's naming)
        type(self).received.append((self.server.server_address[0], self.path))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receivers() -> Iterator[tuple[dict[str, str], list]]:
    """A callback receiver on 127.0.0.1 (allowed here) and one on 127.0.0.2 (refused)."""
    _Receiver.received = []
    with on_both_loopbacks(_Receiver) as bases:
        yield {host: f"{base}/hooks" for host, base in bases.items()}, _Receiver.received


def assert_refused(response) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "invalid_callback_url" and body["message"].startswith("callback_url "), body


async def test_a_submit_naming_an_internal_or_unsupported_callback_url_is_refused(async_channel, make_client,
                                                                                 admin, mongo_db):
    model, _ = await async_channel()
    client = await make_client(quota=100)
    for url in REFUSED:
        assert_refused(await client.submit(model, {"prompt": "p", "callback_url": url}))
    assert await mongo_db.tasks.count_documents({"user_id": client.user_id}) == 0
    assert (await admin.wallet(client.user_id))["held"] == 0


async def test_a_sync_call_naming_an_internal_callback_url_is_refused(admin, stack, make_client, mongo_db):
    model = f"chat-{secrets.token_hex(3)}"
    await admin.create_channel(name=f"sync-{model}", kind="custompass_sync", base_url=stack.upstream_url,
                               api_key="upstream-secret", models=[model], billing={"mode": "per_call", "price": 10})
    client = await make_client(quota=100)
    for url in ("http://127.0.0.2:9/", "file:///etc/passwd"):
        assert_refused(await client.http.post(f"/pass/{model}", json={"prompt": "p", "callback_url": url}))
    assert await mongo_db.tasks.count_documents({"user_id": client.user_id}) == 0


async def test_settlement_does_not_post_to_a_callback_url_that_points_inside_at_delivery(
        async_channel, make_client, mongo_db, receivers):
    urls, received = receivers
    model, _ = await async_channel()
    client = await make_client(quota=100)
    accepted = await client.submit(model, {"prompt": "p", "callback_url": urls["127.0.0.1"],
                                           "mock": {"polls_before_done": 5}})
    assert accepted.status_code == 200, accepted.text
    task_id = accepted.json()["task_id"]
    # What the URL names changed after it was accepted (as a rebinding name's answer would):
    # settlement must judge it again where it connects.
    await mongo_db.tasks.update_one({"_id": task_id}, {"$set": {"callback_url": urls["127.0.0.2"]}})
    await settled(client, model, task_id, mongo_db)

    async def callback_ended():
        task = await mongo_db.tasks.find_one({"_id": task_id})
        return (task.get("callback") or {}).get("status")
    assert await eventually(callback_ended, timeout=30) == "refused"
    assert received == []


async def test_an_allowed_callback_url_is_still_delivered(async_channel, make_client, mongo_db, receivers):
    urls, received = receivers
    model, _ = await async_channel()
    client = await make_client(quota=100)
    task_id = (await client.submit(model, {"prompt": "p", "callback_url": urls["127.0.0.1"]})).json()["task_id"]
    await settled(client, model, task_id, mongo_db)

    async def delivered():
        task = await mongo_db.tasks.find_one({"_id": task_id})
        return (task.get("callback") or {}).get("status") == "delivered"
    await eventually(delivered, timeout=30)
    assert received == [("127.0.0.1", "/hooks")]
