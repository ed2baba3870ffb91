"""Admin API for worker tokens: what a worker presents on `WS /ws?group=`."""
from __future__ import annotations

from fastapi import APIRouter, status

from services.gateway.deps import AdminAuth, Deps
from services.gateway.schemas import WorkerTokenCreate, WorkerTokenCreated

router = APIRouter(prefix="/admin/worker-tokens", tags=["admin"], dependencies=[AdminAuth])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=WorkerTokenCreated)
async def create_worker_token(body: WorkerTokenCreate, deps: Deps) -> WorkerTokenCreated:
    token, secret = await deps.worker_tokens.create(body.group)
    return WorkerTokenCreated(id=token["_id"], token=secret)
