"""Admin API for users, their API keys, top-ups and wallets."""
from __future__ import annotations

from fastapi import APIRouter, Query, Response, status

from services.gateway.deps import AdminAuth, Deps
from services.gateway.errors import ApiError, InvalidRequest, NotFound
from services.gateway.schemas import (ApiKeyCreate, ApiKeyCreated, ApiKeyPublic, ApiKeyUpdate, Limits,
                                      LimitsPublic, TopupRequest, UserCreate, UserPublic, UserUpdate, WalletPublic)
from services.gateway.paging import Offset
from services.gateway.wallet_view import wallet_public
from shared.ids import topup_op_id
from shared.ledger.wallet import Wallet

router = APIRouter(prefix="/admin/users", tags=["admin"], dependencies=[AdminAuth])


def _public(user: dict) -> UserPublic:
    return UserPublic(id=user["_id"], name=user["name"], member_until=user.get("member_until"),
                      status=user.get("status", "active"), group=user.get("group") or "default",
                      created_at=user.get("created_at"),
                      **_limits(user, LimitsPublic))


def _key_public(key: dict) -> ApiKeyPublic:
    # bool(): the local MongoDB stand-in reads back booleans written by `$set` as 0/1.
    return ApiKeyPublic(id=key["_id"], name=key["name"], enabled=bool(key.get("enabled", True)),
                        created_at=key.get("created_at"), **_limits(key, ApiKeyPublic))


def _limits(doc: dict, model: type) -> dict:
    fields = set(model.model_fields) - {"id", "name", "enabled", "created_at"}
    return {field: doc.get(field) for field in fields}


async def existing_user(deps: Deps, user_id: str) -> dict:
    user = await deps.users.get(user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return user


async def _existing_group(deps: Deps, name: str) -> None:
    if not await deps.groups.exists(name):
        raise InvalidRequest(f"group {name} does not exist; create it with POST /admin/groups", code="unknown_group")


@router.post("", status_code=status.HTTP_201_CREATED, response_model=UserPublic)
async def create_user(body: UserCreate, deps: Deps) -> UserPublic:
    await _existing_group(deps, body.group)
    user = await deps.users.create(body.name, body.member_until, body.group,
                                   body.model_dump(include=set(Limits.model_fields)))
    await deps.ledger.open_wallet(user["_id"])
    if body.quota:
        # Durable once published: if billing is slow the credit still lands, exactly once.
        await deps.billing.topup(topup_op_id(user["_id"], "initial"), user["_id"], body.quota)
    return _public(user)


@router.get("", response_model=list[UserPublic])
async def list_users(deps: Deps, q: str | None = Query(None, max_length=200, description=(
                         "Only users whose name contains this, ignoring case.")),
                     limit: int = Query(100, ge=1, le=500), offset: Offset = 0) -> list[UserPublic]:
    """Newest first."""
    return [_public(user) for user in await deps.users.list(q, limit, offset)]


@router.get("/{user_id}", response_model=UserPublic)
async def get_user(user_id: str, deps: Deps) -> UserPublic:
    return _public(await existing_user(deps, user_id))


@router.patch("/{user_id}", response_model=UserPublic)
async def update_user(user_id: str, body: UserUpdate, deps: Deps) -> UserPublic:
    changes = body.model_dump(exclude_unset=True)
    if "group" in changes:
        await _existing_group(deps, changes["group"])
    user = await deps.users.update(user_id, changes) if changes else await deps.users.get(user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return _public(user)


@router.post("/{user_id}/api-keys", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated)
async def create_api_key(user_id: str, body: ApiKeyCreate, deps: Deps) -> ApiKeyCreated:
    await existing_user(deps, user_id)
    key, secret = await deps.users.create_key(user_id, body.name, body.model_dump(exclude={"name"}))
    return ApiKeyCreated(id=key["_id"], key=secret)


@router.get("/{user_id}/api-keys", response_model=list[ApiKeyPublic])
async def list_api_keys(user_id: str, deps: Deps, include_archived: bool = Query(False, description=(
                            "Also the deleted (archived) keys."))) -> list[ApiKeyPublic]:
    """Oldest first; never a secret or its hash."""
    await existing_user(deps, user_id)
    return [_key_public(key) for key in await deps.users.list_keys(user_id, include_archived)]


@router.delete("/{user_id}/api-keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def delete_api_key(user_id: str, key_id: str, deps: Deps) -> Response:
    """Archives the key: it stops authenticating at once on this gateway and within
    CONFIG_CACHE_TTL_S on the others; its document stays, as tasks and logs name its id."""
    if not await deps.users.archive_key(user_id, key_id):
        raise NotFound(f"API key {key_id} not found")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{user_id}/api-keys/{key_id}", response_model=ApiKeyPublic)
async def get_api_key(user_id: str, key_id: str, deps: Deps) -> ApiKeyPublic:
    key = await deps.users.get_key(user_id, key_id)
    if key is None:
        raise NotFound(f"API key {key_id} not found")
    return _key_public(key)


@router.patch("/{user_id}/api-keys/{key_id}", response_model=ApiKeyPublic)
async def update_api_key(user_id: str, key_id: str, body: ApiKeyUpdate, deps: Deps) -> ApiKeyPublic:
    """Limits apply to the key's next request on every gateway instance (read on each request)."""
    key = await deps.users.update_key(user_id, key_id, body.model_dump(exclude_unset=True))
    if key is None:
        raise NotFound(f"API key {key_id} not found")
    return _key_public(key)


@router.post("/{user_id}/topup", response_model=WalletPublic)
async def topup(user_id: str, body: TopupRequest, deps: Deps) -> WalletPublic:
    await existing_user(deps, user_id)
    reply = await deps.billing.topup(topup_op_id(user_id, body.request_id), user_id, body.amount)
    if not reply.get("ok") or not reply.get("wallet"):
        raise ApiError("top-up was not applied", code="topup_rejected", status=409)
    return wallet_public(Wallet.from_document(reply["wallet"]), deps.settings.quota_per_usd)


@router.get("/{user_id}/wallet", response_model=WalletPublic)
async def wallet(user_id: str, deps: Deps) -> WalletPublic:
    found = await deps.ledger.wallet(user_id)
    if found is None:
        raise NotFound(f"user {user_id} not found")
    return wallet_public(found, deps.settings.quota_per_usd)
