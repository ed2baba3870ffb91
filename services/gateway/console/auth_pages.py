"""Logging in to the console with the admin token, and out."""
from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from services.gateway.console.pages import PostedForm, back_to, render, session_keys
from services.gateway.console.session import COOKIE, SESSION_S
from services.gateway.console.session_store import ConsoleSessions
from services.gateway.deps import Deps

router = APIRouter(include_in_schema=False)
HOME = "/admin/ui/overview"


@router.get("/admin")
async def home() -> RedirectResponse:
    return back_to(HOME)


@router.get("/admin/login", response_class=HTMLResponse)
async def login_page(request: Request, next: str = HOME) -> HTMLResponse:
    return render(request, "login.html", None, next=_safe_next(next), error=None)


@router.post("/admin/login")
async def login(request: Request, deps: Deps):
    form = await request.form()
    token, next_path = str(form.get("token", "")), _safe_next(str(form.get("next", "")))
    if not hmac.compare_digest(token.encode(), deps.settings.admin_token.encode()):
        return render(request, "login.html", None, status_code=401, next=next_path, error="Wrong admin token")
    cookie, session = session_keys(deps).issue()
    sessions = ConsoleSessions(deps.db)
    await sessions.ensure_indexes()  # idempotent, and a login is rare: no start-up step to forget
    await sessions.open(session)
    response = back_to(next_path)
    response.set_cookie(COOKIE, cookie, max_age=SESSION_S, httponly=True, samesite="strict",
                        secure=deps.settings.is_production, path="/admin")
    return response


@router.post("/admin/logout")
async def logout(posted: PostedForm, deps: Deps) -> RedirectResponse:
    """Ends the session on the server too: a copy of the cookie kept from before opens nothing."""
    await ConsoleSessions(deps.db).close(posted.session)
    response = back_to("/admin/login")
    response.delete_cookie(COOKIE, path="/admin")
    return response


def _safe_next(path: str) -> str:
    """Only a console path: a login link must not send the operator to another site."""
    return path if path.startswith("/admin/ui/") and "//" not in path else HOME
