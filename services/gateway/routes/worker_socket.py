"""`WS /ws?group=NAME`: where workers connect (seed 003). A worker token for the group is
required, as `Authorization: Bearer <token>` or `?token=` (browsers cannot set the header);
without one the socket is accepted, then closed with 4401 and a reason, so the client sees why."""
from __future__ import annotations

from fastapi import APIRouter, WebSocket

from services.gateway.container import Container
from services.gateway.workers.connection import WorkerConnection
from services.gateway.workers.revocation import UNAUTHORIZED

router = APIRouter()


@router.websocket("/ws")
async def worker_socket(socket: WebSocket, group: str = "default", token: str | None = None) -> None:
    deps: Container = socket.app.state.container
    scheme, _, bearer = socket.headers.get("authorization", "").partition(" ")
    secret = token or (bearer.strip() if scheme.lower() == "bearer" else "")
    await socket.accept()
    token_id = await deps.worker_tokens.admitting(secret, group)
    if token_id is None:
        await socket.close(UNAUTHORIZED, f"a valid worker token for group {group!r} is required")
        return
    await WorkerConnection(socket, deps.workers, group, deps.workers.new_worker_id(), token_id).serve()
