"""Console pages for users: search, create, membership and group, top-ups (a request id per
form, so a double click credits once), the wallet with its ledger, and API keys."""
from __future__ import annotations

import re
import secrets

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from services.gateway.console.pages import (PAGE_SIZE, PageSession, PostedForm, back_to, error_messages, page_window,
                                            render, whole_number)
from services.gateway.deps import Deps
from services.gateway.errors import ApiError
from services.gateway.paging import Offset
from services.gateway.routes import admin_users
from services.gateway.schemas import ApiKeyCreate, ApiKeyUpdate, TopupRequest, UserCreate, UserUpdate

router = APIRouter(prefix="/admin/ui/users", include_in_schema=False)


@router.get("", response_class=HTMLResponse)
async def user_list(request: Request, session: PageSession, deps: Deps, q: str = "", offset: Offset = 0,
                    error: str | None = None) -> HTMLResponse:
    query = {"$or": [{"name": {"$regex": re.escape(q), "$options": "i"}}, {"_id": q}]} if q else {}
    users = deps.db["users"]
    total = await users.count_documents(query)
    rows = await users.find(query).sort("created_at", -1).skip(offset).limit(PAGE_SIZE).to_list(PAGE_SIZE)
    return render(request, "users.html", session, users=rows, q=q, error=error,
                  window=page_window(offset, total), params={"q": q})


@router.post("")
async def create_user(form: PostedForm, deps: Deps):
    try:
        body = UserCreate(name=str(form.get("name", "")), member_until=form.get("member_until") or None,
                          group=str(form.get("group") or "default"))
        created = await admin_users.create_user(body, deps)
    except (ValidationError, ApiError) as exc:
        return back_to("/admin/ui/users", error="; ".join(error_messages(exc)))
    return back_to(f"/admin/ui/users/{created.id}")


@router.get("/{user_id}", response_class=HTMLResponse)
async def user_page(request: Request, user_id: str, session: PageSession, deps: Deps, offset: Offset = 0,
                    notice: str | None = None, error: str | None = None) -> HTMLResponse:
    user = await admin_users.existing_user(deps, user_id)
    wallet = await admin_users.wallet(user_id, deps)
    entries = deps.db["ledger"]
    total = await entries.count_documents({"user_id": user_id})
    ledger = await entries.find({"user_id": user_id}).sort("at", -1).skip(offset).limit(PAGE_SIZE).to_list(PAGE_SIZE)
    keys = await deps.db["api_keys"].find({"user_id": user_id}).sort("created_at", -1).to_list(200)
    return render(request, "user.html", session, user=user, wallet=wallet, ledger=ledger, keys=keys,
                  notice=notice, error=error, topup_request_id=secrets.token_hex(8), secret=None,
                  window=page_window(offset, total), params={})


@router.post("/{user_id}")
async def update_user(user_id: str, form: PostedForm, deps: Deps):
    try:
        body = UserUpdate(member_until=form.get("member_until") or None, status=form.get("status") or None,
                          group=form.get("group") or None)
        await admin_users.update_user(user_id, body, deps)
    except (ValidationError, ApiError) as exc:
        return back_to(f"/admin/ui/users/{user_id}", error="; ".join(error_messages(exc)))
    return back_to(f"/admin/ui/users/{user_id}", notice="Saved")


@router.post("/{user_id}/topup")
async def topup(user_id: str, form: PostedForm, deps: Deps):
    try:
        body = TopupRequest(amount=whole_number(form.get("amount")), request_id=str(form.get("request_id", "")))
        await admin_users.topup(user_id, body, deps)
    except (ValidationError, ApiError) as exc:
        return back_to(f"/admin/ui/users/{user_id}", error="; ".join(error_messages(exc)))
    return back_to(f"/admin/ui/users/{user_id}", notice="Topped up")


@router.post("/{user_id}/api-keys", response_class=HTMLResponse)
async def create_key(request: Request, user_id: str, form: PostedForm, deps: Deps):
    try:
        created = await admin_users.create_api_key(user_id, ApiKeyCreate(name=str(form.get("name") or "key")), deps)
    except (ValidationError, ApiError) as exc:
        return back_to(f"/admin/ui/users/{user_id}", error="; ".join(error_messages(exc)))
    return render(request, "key_created.html", form.session, secret=created.key, back=f"/admin/ui/users/{user_id}")


@router.post("/{user_id}/api-keys/{key_id}/revoke")
async def revoke_key(user_id: str, key_id: str, _: PostedForm, deps: Deps):
    await admin_users.update_api_key(user_id, key_id, ApiKeyUpdate(enabled=False), deps)
    return back_to(f"/admin/ui/users/{user_id}", notice="Saved")
