"""Workers that put their token in the URL (`?token=`, as browsers must) leave no trace of it in
the gateway's log: uvicorn logs every handshake's path and query, and the log lines mask it."""
from __future__ import annotations

import asyncio
import json

from websockets.asyncio.client import connect

from tests.harness.api import eventually


async def test_a_token_in_the_query_string_never_reaches_the_gateways_log(worker_group, dispatch_stack):
    group, secret = await worker_group()
    gateway = dispatch_stack["gateway"]
    base = gateway.url.replace("http://", "ws://") + f"/ws?group={group}"
    async with connect(f"{base}&token={secret}") as socket:  # admitted
        assert json.loads(await socket.recv())["type"] == "connected"
    async with connect(f"{base}&token=cpw-not-a-real-token-but-secret-looking") as socket:  # refused
        await asyncio.gather(socket.wait_closed())
    log = gateway.log_dir / f"{gateway.name}.{gateway.starts}.log"

    async def handshakes_logged():
        return log.read_text().count(f"/ws?group={group}") >= 2
    await eventually(handshakes_logged, timeout=10)
    text = log.read_text()
    assert secret not in text and "cpw-not-a-real-token" not in text
    assert f"/ws?group={group}&token=[redacted]" in text
