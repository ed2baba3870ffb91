"""Console pages for users: search (with each one's balance), create (with an initial quota),
membership and group, top-ups (a request id per form, so a double click credits once), the wallet
with its ledger, and API keys with their limits."""
from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from services.gateway.console.pages import (KEY_LIMITS, PAGE_SIZE, PageSession, Posted, PostedForm, back_to,
                                            back_with_error, listed, optional_number, page_window, render, saved,
                                            whole_number)
from services.gateway.deps import Deps
from services.gateway.errors import ApiError
from services.gateway.paging import Offset
from services.gateway.routes import admin_users
from services.gateway.schemas import ApiKeyCreate, ApiKeyUpdate, TopupRequest, UserCreate, UserUpdate

router = APIRouter(prefix="/admin/ui/users", include_in_schema=False)
KEY_STATES = {"active": True, "disabled": False}


@router.get("", response_class=HTMLResponse)
async def user_list(request: Request, session: PageSession, deps: Deps, q: str = "", offset: Offset = 0,
                    error: str | None = None) -> HTMLResponse:
    users, total = await deps.users.search(q, PAGE_SIZE, offset)
    wallets = await deps.ledger.wallets([user["_id"] for user in users])
    return render(request, "users.html", session, users=users, q=q, error=error,
                  balances={user_id: wallet.available for user_id, wallet in wallets.items()},
                  window=page_window(offset, total), params={"q": q})


@router.post("")
async def create_user(form: PostedForm, deps: Deps):
    try:
        # The admin API credits the initial quota under an id derived from the new user's id
        # (`topup_op_id(user_id, "initial")`): billing applies it once, however often it is delivered.
        body = UserCreate(name=str(form.get("name", "")), member_until=form.get("member_until") or None,
                          group=str(form.get("group") or "default"), quota=optional_number(form, "quota") or 0)
        created = await admin_users.create_user(body, deps)
    except (ValidationError, ApiError) as exc:
        return back_with_error("/admin/ui/users", exc, form)
    return back_to(f"/admin/ui/users/{created.id}")


@router.get("/{user_id}", response_class=HTMLResponse)
async def user_page(request: Request, user_id: str, session: PageSession, deps: Deps, offset: Offset = 0,
                    notice: str | None = None, error: str | None = None) -> HTMLResponse:
    user = await admin_users.existing_user(deps, user_id)
    wallet = await admin_users.wallet(user_id, deps)
    ledger, total = await deps.ledger.entries(user_id, PAGE_SIZE, offset)
    keys = await deps.users.list_keys(user_id)
    return render(request, "user.html", session, user=user, wallet=wallet, ledger=ledger, keys=keys,
                  notice=notice, error=error, topup_request_id=secrets.token_hex(8), secret=None,
                  window=page_window(offset, total), params={})


@router.post("/{user_id}")
async def update_user(user_id: str, form: PostedForm, deps: Deps):
    return await saved(f"/admin/ui/users/{user_id}", form, lambda: admin_users.update_user(user_id, UserUpdate(
        member_until=form.get("member_until") or None, status=form.get("status") or None,
        group=form.get("group") or None), deps))


@router.post("/{user_id}/topup")
async def topup(user_id: str, form: PostedForm, deps: Deps):
    return await saved(f"/admin/ui/users/{user_id}", form, lambda: admin_users.topup(user_id, TopupRequest(
        amount=whole_number(form.get("amount")), request_id=str(form.get("request_id", ""))), deps), notice="Topped up")


@router.post("/{user_id}/api-keys", response_class=HTMLResponse)
async def create_key(request: Request, user_id: str, form: PostedForm, deps: Deps):
    try:
        body = ApiKeyCreate(name=str(form.get("name") or "key"), **_key_limits(form))
        created = await admin_users.create_api_key(user_id, body, deps)
    except (ValidationError, ApiError) as exc:
        return back_with_error(f"/admin/ui/users/{user_id}", exc, form)
    return render(request, "key_created.html", form.session, secret=created.key, back=f"/admin/ui/users/{user_id}")


@router.post("/{user_id}/api-keys/{key_id}")
async def update_key(user_id: str, key_id: str, form: PostedForm, deps: Deps):
    return await saved(f"/admin/ui/users/{user_id}", form, lambda: admin_users.update_api_key(user_id, key_id, ApiKeyUpdate(
        enabled=KEY_STATES.get(str(form.get("status"))), **_key_limits(form)), deps))


def _key_limits(form: Posted) -> dict[str, Any]:
    """A key form's limits, each blank one None: no limit (an edit clears it). Checked by the schema."""
    return {**{name: optional_number(form, name) for name in KEY_LIMITS}, "models": listed(form.get("models")) or None,
            "expires_at": str(form.get("expires_at") or "").strip() or None}
