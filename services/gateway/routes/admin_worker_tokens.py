"""Admin API for worker tokens: what a worker presents on `WS /ws?group=`. Disabling or deleting a
token revokes it: its open sockets are closed, on every gateway (workers/revocation.py)."""
from __future__ import annotations

from fastapi import APIRouter, Query, Response, status

from services.gateway.deps import AdminAuth, Deps
from services.gateway.errors import NotFound
from services.gateway.paging import Offset
from services.gateway.schemas import WorkerTokenCreate, WorkerTokenCreated, WorkerTokenPublic, WorkerTokenUpdate

router = APIRouter(prefix="/admin/worker-tokens", tags=["admin"], dependencies=[AdminAuth])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=WorkerTokenCreated)
async def create_worker_token(body: WorkerTokenCreate, deps: Deps) -> WorkerTokenCreated:
    token, secret = await deps.worker_tokens.create(body.group)
    return WorkerTokenCreated(id=token["_id"], token=secret)


def public_token(token: dict) -> WorkerTokenPublic:
    # bool(): the local MongoDB stand-in reads back booleans written by `$set` as 0/1.
    return WorkerTokenPublic(id=token["_id"], group=token["group"], enabled=bool(token.get("enabled", True)),
                             created_at=token["created_at"])


@router.get("", response_model=list[WorkerTokenPublic])
async def list_worker_tokens(deps: Deps, limit: int = Query(100, ge=1, le=500),
                             offset: Offset = 0) -> list[WorkerTokenPublic]:
    return [public_token(t) for t in await deps.worker_tokens.list(limit, offset)]


@router.patch("/{token_id}", response_model=WorkerTokenPublic)
async def update_worker_token(token_id: str, body: WorkerTokenUpdate, deps: Deps) -> WorkerTokenPublic:
    token = await deps.worker_tokens.set_enabled(token_id, body.enabled)
    if token is None:
        raise NotFound(f"worker token {token_id} not found")
    if not body.enabled:
        await deps.workers.token_revoked(token_id)
    return public_token(token)


@router.delete("/{token_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def delete_worker_token(token_id: str, deps: Deps) -> Response:
    if not await deps.worker_tokens.delete(token_id):
        raise NotFound(f"worker token {token_id} not found")
    await deps.workers.token_revoked(token_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
