"""`WS /ws?group=NAME`: where workers connect (seed 003). A worker token for the group is
required, as `Authorization: Bearer <token>` or `?token=` (browsers cannot set the header);
without one the socket is accepted, then closed with 4401 and a reason, so the client sees why."""
from __future__ import annotations

from fastapi import APIRouter, WebSocket

from services.gateway.container import Container
from services.gateway.workers.connection import WorkerConnection

router = APIRouter()

UNAUTHORIZED = 4401


@router.websocket("/ws")
async def worker_socket(socket: WebSocket, group: str = "default", token: str | None = None) -> None:
    deps: Container = socket.app.state.container
    scheme, _, bearer = socket.headers.get("authorization", "").partition(" ")
    secret = token or (bearer.strip() if scheme.lower() == "bearer" else "")
    await socket.accept()
    if not await deps.worker_tokens.admits(secret, group):
        await socket.close(UNAUTHORIZED, f"a valid worker token for group {group!r} is required")
        return
    await WorkerConnection(socket, deps.workers, group, deps.workers.new_worker_id()).serve()
