"""Worker tokens from the console and the admin API: issued once, listed without their secret,
revoked so that a worker can no longer connect with them."""
from __future__ import annotations

import re
import secrets

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

SECRET = re.compile(r'id="secret">(cpw-[^<]+)<')


async def first_message(stack, group: str, token: str) -> str:
    url = stack.gateway_url.replace("http://", "ws://") + f"/ws?group={group}&token={token}"
    async with connect(url) as socket:
        return await socket.recv()


async def test_a_token_issued_in_the_console_admits_a_worker_until_revoked(console, admin, stack):
    group = f"g-{secrets.token_hex(3)}"
    issued = await console.post("/admin/ui/worker-tokens", {"group": group})
    assert issued.status_code == 200
    token = SECRET.search(issued.text).group(1)
    assert '"type":"connected"' in (await first_message(stack, group, token)).replace(" ", "")

    listed = (await admin.http.get("/admin/worker-tokens", params={"limit": 500})).json()
    mine = next(t for t in listed if t["group"] == group)
    assert mine["enabled"] is True and "hash" not in mine and "token" not in mine
    page = (await console.http.get("/admin/ui/worker-tokens")).text
    assert mine["id"] in page and token not in page

    assert (await console.post(f"/admin/ui/worker-tokens/{mine['id']}/revoke", {})).status_code == 303
    with pytest.raises(ConnectionClosed) as closed:
        await first_message(stack, group, token)
    assert closed.value.rcvd.code == 4401


async def test_worker_token_admin_errors(admin):
    assert (await admin.http.patch("/admin/worker-tokens/wtk_missing", json={"enabled": False})).status_code == 404
    assert (await admin.http.patch("/admin/worker-tokens/wtk_missing", json={"enabled": "maybe"})).status_code == 422
    refused = await admin.http.post("/admin/worker-tokens", json={"group": ""})
    assert refused.status_code == 422
