"""Revoking a worker token (disabling or deleting it through the admin API) closes the sockets it
opened on every gateway instance: at once on the one that revoked it, within a Kafka signal's fetch
wait (workers/signals.py) on the others, well inside WORKER_TOKEN_RECHECK_S (10 s), the re-check
that covers a lost signal; and none of them is handed a task once it is revoked."""
from __future__ import annotations

import asyncio
import time

import pytest
from websockets.exceptions import ConnectionClosed

from tests.workers.conftest import Worker

BOUND_S = 1.0  # a signal's fetch wait (SIGNAL_FETCH_WAIT_MS): the other gateways' bound
SLACK_S = 4.0  # a crowded test machine's scheduling, on top of the bound


async def new_token(admin, group: str) -> tuple[str, str]:
    response = await admin.http.post("/admin/worker-tokens", json={"group": group})
    assert response.status_code == 201, response.text
    return response.json()["id"], response.json()["token"]


async def revoke(admin, token_id: str, how: str) -> None:
    if how == "disable":
        response = await admin.http.patch(f"/admin/worker-tokens/{token_id}", json={"enabled": False})
        assert response.status_code == 200 and response.json()["enabled"] is False, response.text
    else:
        response = await admin.http.delete(f"/admin/worker-tokens/{token_id}")
        assert response.status_code == 204, response.text


async def until_closed(worker: Worker, timeout: float) -> tuple[list[dict], ConnectionClosed]:
    """What the socket heard before it was closed, and how it was closed."""
    heard = []
    deadline = time.monotonic() + timeout
    while True:
        try:
            heard.append(await worker.receive(timeout=max(0.01, deadline - time.monotonic())))
        except ConnectionClosed as closed:
            return heard, closed
        except TimeoutError:
            raise AssertionError(f"still open after {timeout}s; heard {heard}") from None


@pytest.mark.parametrize("how", ["disable", "delete"])
async def test_revoking_a_token_closes_its_open_sockets_on_every_gateway_within_the_bound(
        how, worker_group, connect_worker, dispatch_admin):
    group, other_secret = await worker_group()
    token_id, secret = await new_token(dispatch_admin, group)
    workers = [await connect_worker(group, secret, gateway=g) for g in ("gateway", "gateway_b")]
    untouched = await connect_worker(group, other_secret)
    await workers[0].send({"type": "ping"})
    assert await workers[0].receive() == {"type": "pong"}
    started = time.monotonic()
    await revoke(dispatch_admin, token_id, how)
    for worker in workers:
        heard, closed = await until_closed(worker, BOUND_S + SLACK_S)
        assert heard == [] and closed.rcvd.code == 4401 and closed.rcvd.reason == "worker token revoked"
    assert time.monotonic() - started < BOUND_S + SLACK_S
    await untouched.send({"type": "ping"})  # another token of the same group keeps its socket
    assert await untouched.receive() == {"type": "pong"}


async def test_a_socket_whose_token_was_revoked_is_handed_no_task(
        worker_group, connect_worker, dispatch_admin, dispatch_client):
    group, other_secret = await worker_group(billing={"mode": "free"})
    token_id, secret = await new_token(dispatch_admin, group)
    revoked_worker = await connect_worker(group, secret)
    _, client = await dispatch_client()
    await revoke(dispatch_admin, token_id, "disable")  # through this socket's own gateway: closed at once
    heard, closed = await until_closed(revoked_worker, SLACK_S)
    assert heard == [] and closed.rcvd.code == 4401
    valid_worker = await connect_worker(group, other_secret)
    submitted = await client.post("/api/openai", json={"data": {"n": 1}, "group": group, "async": True})
    assert submitted.status_code == 200, submitted.text
    assert (await valid_worker.next_task())["taskId"] == submitted.json()["taskId"]


async def test_a_revoked_token_admits_no_new_socket(worker_group, connect_worker, dispatch_admin, dispatch_stack):
    from websockets.asyncio.client import connect

    group, _ = await worker_group()
    token_id, secret = await new_token(dispatch_admin, group)
    await revoke(dispatch_admin, token_id, "delete")
    url = dispatch_stack.gateway_url.replace("http://", "ws://") + f"/ws?group={group}"
    async with connect(url, additional_headers={"Authorization": f"Bearer {secret}"}) as socket:
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), 10)
    assert closed.value.rcvd.code == 4401
    assert (await dispatch_admin.http.delete(f"/admin/worker-tokens/{token_id}")).status_code == 404
