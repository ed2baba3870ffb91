"""A CustomPass worker (seed 003's protocol) in Python: connects to `WS /ws?group=`, says
`ready`, runs one task at a time, answers `task_complete` or `task_error`; pings to keep the
connection alive and reconnects with backoff when it drops.

    pip install websockets
    CUSTOMPASS_WORKER_TOKEN=<token> python examples/worker-python.py

Settings (environment): CUSTOMPASS_WS_URL (default ws://localhost:8080/ws), CUSTOMPASS_WORKER_GROUP
(default "default"), CUSTOMPASS_WORKER_TOKEN (from `POST /admin/worker-tokens`; `make run` prints
one), CUSTOMPASS_HEARTBEAT_S (default 20), CUSTOMPASS_RECONNECT_MAX_S (longest wait between
reconnection attempts, default 30). Replace `process_task` with your own work.

The token travels in the `Authorization: Bearer` header, never in the URL, where proxies and
servers log it (`?token=` is accepted only for browsers, which cannot set the header).
"""
from __future__ import annotations

import asyncio
import json
import os
import time
import urllib.parse

import websockets

URL = os.environ.get("CUSTOMPASS_WS_URL", "ws://localhost:8080/ws")
GROUP = os.environ.get("CUSTOMPASS_WORKER_GROUP", "default")
TOKEN = os.environ.get("CUSTOMPASS_WORKER_TOKEN", "")
HEARTBEAT_S = float(os.environ.get("CUSTOMPASS_HEARTBEAT_S", "20"))
RECONNECT_MAX_S = float(os.environ.get("CUSTOMPASS_RECONNECT_MAX_S", "30"))
FIRST_DELAY_S = min(1.0, RECONNECT_MAX_S)
UNAUTHORIZED = 4401  # a bad token: reconnecting would not help


def process_task(payload: dict) -> dict:
    """Your work goes here. This one echoes what it was given."""
    return {"success": True, "data": payload.get("data"), "messages": payload.get("messages"),
            "model": payload.get("model")}


async def heartbeat(socket) -> None:
    while True:
        await asyncio.sleep(HEARTBEAT_S)
        await socket.send(json.dumps({"type": "ping"}))


async def run_task(socket, message: dict) -> None:
    started = time.monotonic()
    try:
        result = await asyncio.to_thread(process_task, message["payload"])
        reply = {"type": "task_complete", "taskId": message["taskId"], "result": result}
    except Exception as exc:  # the task failed, not the worker: report it and go on
        reply = {"type": "task_error", "taskId": message["taskId"], "error": str(exc)}
    reply["duration"] = int((time.monotonic() - started) * 1000)
    await socket.send(json.dumps(reply))


async def serve(socket) -> None:
    pinger = asyncio.create_task(heartbeat(socket))
    try:
        async for raw in socket:
            message = json.loads(raw)
            if message["type"] == "connected":
                print(f"Worker ID: {message['workerId']}", flush=True)
                await socket.send(json.dumps({"type": "ready"}))
            elif message["type"] == "task":
                print(f"task {message['taskId']}", flush=True)
                await run_task(socket, message)
            elif message["type"] == "error":
                print(f"gateway: {message.get('message')}", flush=True)
    finally:
        pinger.cancel()


async def main() -> None:
    query = urllib.parse.urlencode({"group": GROUP})
    credential = {"Authorization": f"Bearer {TOKEN}"}
    delay = FIRST_DELAY_S
    while True:
        try:
            async with websockets.connect(f"{URL}?{query}", additional_headers=credential) as socket:
                print(f"connected to {URL} (group {GROUP})", flush=True)
                delay = FIRST_DELAY_S
                await serve(socket)
        except websockets.ConnectionClosed as closed:
            if closed.rcvd is not None and closed.rcvd.code == UNAUTHORIZED:
                raise SystemExit(f"refused: {closed.rcvd.reason}") from None
            print(f"connection closed ({closed}); reconnecting in {delay:.0f}s", flush=True)
        except OSError as exc:
            print(f"cannot connect ({exc}); retrying in {delay:.0f}s", flush=True)
        await asyncio.sleep(delay)
        delay = min(delay * 2, RECONNECT_MAX_S)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
