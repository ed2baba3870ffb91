"""Real WebSocket workers of the chaos group, two per gateway, reconnecting when their gateway
dies. Each runs a task for the time it asks (`work_ms`) and completes it or reports its error;
when told to, the next one to receive a task drops its socket mid-task instead."""
from __future__ import annotations

import asyncio
import json

from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

from tools.chaos.system import WORKER_GROUP, ChaosSystem

PER_GATEWAY = 2
RECONNECT_S = 0.3


class Workers:
    def __init__(self, system: ChaosSystem, stop: asyncio.Event) -> None:
        self._system, self.stop = system, stop
        self._drop_armed = False
        self.dropped = asyncio.Event()
        self.completed = 0

    def drop_next(self) -> None:
        self._drop_armed, self.dropped = True, asyncio.Event()

    async def run(self) -> None:
        await asyncio.gather(*(self._worker(url) for url in self._system.gateways for _ in range(PER_GATEWAY)))

    async def _worker(self, gateway: str) -> None:
        url = gateway.replace("http://", "ws://") + f"/ws?group={WORKER_GROUP}"
        headers = {"Authorization": f"Bearer {self._system.worker_token}"}
        while not self.stop.is_set():
            try:
                async with connect(url, additional_headers=headers, open_timeout=5) as socket:
                    await self._serve(socket)
            except (OSError, WebSocketException, asyncio.TimeoutError):
                pass  # its gateway is down or restarting: connect again
            await asyncio.sleep(RECONNECT_S)

    async def _serve(self, socket) -> None:
        await socket.send(json.dumps({"type": "ready"}))
        while not self.stop.is_set():
            try:
                message = json.loads(await asyncio.wait_for(socket.recv(), 0.5))
            except asyncio.TimeoutError:
                continue
            if message.get("type") != "task":
                continue
            if self._drop_armed:
                self._drop_armed = False
                socket.transport.abort()  # no close frame: as a crashed worker or a cut cable leaves
                self.dropped.set()
                return
            data = message["payload"].get("data") or {}
            await asyncio.sleep(int(data.get("work_ms", 50)) / 1000)
            if data.get("fail"):
                reply = {"type": "task_error", "taskId": message["taskId"], "error": "chaos worker failed it"}
            else:
                reply = {"type": "task_complete", "taskId": message["taskId"], "result": {"ok": True}}
            await socket.send(json.dumps({**reply, "duration": data.get("work_ms", 50)}))
            self.completed += 1
