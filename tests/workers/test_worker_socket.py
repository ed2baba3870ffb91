"""`WS /ws?group=` and `POST /admin/worker-tokens`: who may connect, and the seed's protocol."""
from __future__ import annotations

import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed


async def test_admin_creates_worker_tokens_and_only_the_admin(dispatch_admin, dispatch_stack):
    response = await dispatch_admin.http.post("/admin/worker-tokens", json={"group": "gpu"})
    assert response.status_code == 201, response.text
    assert set(response.json()) == {"id", "token"}
    anonymous = await dispatch_admin.http.post("/admin/worker-tokens", json={"group": "gpu"},
                                               headers={"Authorization": "Bearer nope"})
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "unauthorized"
    empty = await dispatch_admin.http.post("/admin/worker-tokens", json={"group": ""})
    assert empty.status_code == 422 and empty.json()["code"] == "invalid_request"


@pytest.mark.parametrize("credential", ["none", "wrong", "other_group"])
async def test_a_socket_without_a_valid_token_for_its_group_is_closed_with_4401(
        credential, worker_group, dispatch_stack):
    group, token = await worker_group()
    _, other_token = await worker_group()
    query = {"none": "", "wrong": "&token=cpw-wrong", "other_group": f"&token={other_token}"}[credential]
    url = dispatch_stack.gateway_url.replace("http://", "ws://") + f"/ws?group={group}{query}"
    async with connect(url) as socket:
        with pytest.raises(ConnectionClosed) as closed:
            await socket.recv()
    assert closed.value.rcvd.code == 4401 and group in closed.value.rcvd.reason


async def test_a_worker_gets_its_id_and_answers_pings_with_the_token_in_the_query(worker_group, dispatch_stack):
    group, token = await worker_group()
    url = dispatch_stack.gateway_url.replace("http://", "ws://") + f"/ws?group={group}&token={token}"
    async with connect(url) as socket:
        hello = json.loads(await socket.recv())
        assert hello["type"] == "connected" and hello["workerId"].startswith("W")
        await socket.send(json.dumps({"type": "ping"}))
        assert json.loads(await socket.recv()) == {"type": "pong"}
        await socket.send("not json")
        assert json.loads(await socket.recv())["type"] == "error"
        await socket.send(json.dumps({"type": "task_complete", "taskId": "task_unknown", "result": {}}))
        assert json.loads(await socket.recv())["type"] == "error"  # not its task: nothing happens


async def test_the_gateway_counts_its_open_worker_sockets(worker_group, connect_worker, dispatch_stack):
    import httpx

    group, token = await worker_group()
    await connect_worker(group, token)
    await connect_worker(group, token)
    metrics = httpx.get(dispatch_stack.gateway_url + "/metrics").text
    assert f'custompass_gateway_ws_workers{{group="{group}"}} 2.0' in metrics
