"""The caller's own wallet."""
from __future__ import annotations

from fastapi import APIRouter

from services.gateway.deps import Caller, Deps
from services.gateway.errors import NotFound
from services.gateway.schemas import WalletPublic
from services.gateway.wallet_view import wallet_public

router = APIRouter(tags=["client"])


@router.get("/api/wallet", response_model=WalletPublic)
async def my_wallet(caller: Caller, deps: Deps) -> WalletPublic:
    found = await deps.ledger.wallet(caller.user_id)
    if found is None:
        raise NotFound("wallet not found")
    return wallet_public(found, deps.settings.quota_per_usd)
