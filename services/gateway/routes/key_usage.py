"""The caller's own API key: its limits, its user's limits, and what is left of each now."""
from __future__ import annotations

from fastapi import APIRouter

from services.gateway.deps import Caller, Deps
from services.gateway.key_policies import KeyPolicies, Scope, scopes_of
from services.gateway.schemas import KeyUsagePublic, ScopeUsage, WindowPublic

router = APIRouter(tags=["client"])


@router.get("/api/key", response_model=KeyUsagePublic)
async def my_key(caller: Caller, deps: Deps) -> KeyUsagePublic:
    key = caller.key
    key_scope, user_scope = scopes_of(key, caller.user)
    quota_limit = key.get("quota_limit")
    spent = await deps.ledger.key_spent(caller.user_id, key["_id"])
    return KeyUsagePublic(
        id=key["_id"], name=key["name"], expires_at=key.get("expires_at"), quota_limit=quota_limit,
        quota_spent=spent, quota_left=None if quota_limit is None else max(quota_limit - spent, 0),
        key=await _usage(deps.policies, key_scope), user=await _usage(deps.policies, user_scope))


async def _usage(policies: KeyPolicies, scope: Scope) -> ScopeUsage:
    rpm, cap = scope.limit("requests_per_minute"), scope.limit("max_in_flight")
    window = None
    if rpm is not None:
        state = await policies.rates.peek(scope.counter, rpm)
        window = WindowPublic(limit=rpm, left=state.left, resets_in_s=round(state.resets_in_s, 3))
    in_flight = None if cap is None else await policies.slots.count(scope.counter)
    return ScopeUsage(requests_per_minute=window, max_in_flight=cap, in_flight=in_flight,
                      models=scope.limit("models"))
