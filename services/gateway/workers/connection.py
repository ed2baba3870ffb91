"""One worker's socket, speaking the seed's protocol: `connected` -> `ready` -> `task` ->
`task_complete` | `task_error` (then idle again), and `ping` -> `pong` at any time."""
from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from fastapi import WebSocket
from starlette.websockets import WebSocketDisconnect

from shared.task_record import Task

if TYPE_CHECKING:
    from services.gateway.workers.hub import WorkerHub

RESULT_TYPES = ("task_complete", "task_error")


class WorkerConnection:
    def __init__(self, socket: WebSocket, hub: WorkerHub, group: str, worker_id: str, token_id: str) -> None:
        self.socket, self.hub, self.group, self.id = socket, hub, group, worker_id
        self.token_id = token_id  # the worker token that admitted it: revoking that closes it
        self.task: Task | None = None  # the one task it runs, if any
        self.closed = False
        self.reserved = False  # taken by a submission whose task is being stored and held for it
        self._sending = asyncio.Lock()  # the dispatcher and the reader both send

    async def serve(self) -> None:
        await self.hub.connected(self)
        try:
            await self.send({"type": "connected", "workerId": self.id, "message": "Connected to Task Dispatcher"})
            while True:
                message = await self.socket.receive()
                if message["type"] == "websocket.disconnect" or self.closed:  # closed: revoked meanwhile
                    break
                text = message.get("text")
                if text is None:
                    text = (message.get("bytes") or b"").decode("utf-8", "replace")
                await self._handle(text)
        except WebSocketDisconnect:
            pass
        finally:
            await self.hub.disconnected(self)

    async def assign(self, task: Task) -> None:
        self.task = task
        try:
            await self.send({"type": "task", "taskId": task.id, "payload": task.payload})
        except Exception:  # the socket is closing: its disconnect fails the task
            pass

    async def close(self, code: int, reason: str) -> None:
        """Closes the socket from our side (its token was revoked): from now on it is handed no
        task; its reader then sees the disconnect, which fails a task it was running."""
        self.closed = True
        try:
            await self.socket.close(code, reason)
        except Exception:  # closing already, from the other side
            pass

    async def send(self, message: dict[str, Any]) -> None:
        async with self._sending:
            await self.socket.send_text(json.dumps(message))

    async def _handle(self, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            await self._complain("messages are JSON objects with a type")
            return
        kind = message.get("type")
        if kind == "ping":
            await self.send({"type": "pong"})
        elif kind == "ready":
            self.hub.idle(self)
        elif kind in RESULT_TYPES:
            await self._report(message)
        else:
            await self._complain(f"unknown message type {kind!r}")

    async def _report(self, message: dict[str, Any]) -> None:
        task = self.task
        if task is None or message.get("taskId") != task.id:
            await self._complain(f"task {message.get('taskId')!r} is not running on this worker")
            return
        self.task = None
        self.hub.idle(self)  # free once it has answered: the next task need not wait for the write
        await self.hub.report(task, message)

    async def _complain(self, text: str) -> None:
        await self.send({"type": "error", "message": text})
