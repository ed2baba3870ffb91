"""What every console page shares: the session check, the CSRF check on form posts, the
language, and rendering a template (autoescaped, so stored text never becomes markup)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from starlette.datastructures import FormData

from services.gateway.console.api_messages import error_messages
from services.gateway.console.i18n import (BILLING_MODES, FIELD_LABELS, LANG_COOKIE, LATE_POLICIES, USER_STATUSES,
                                           language, translate)
from services.gateway.console.session import COOKIE, Session, SessionKeys
from services.gateway.console.session_store import ConsoleSessions
from services.gateway.deps import Deps
from services.gateway.errors import ApiError, Forbidden

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
PAGE_SIZE = 50


class LoginRequired(Exception):
    pass


def session_keys(deps: Deps) -> SessionKeys:
    return SessionKeys(deps.settings.admin_token)


async def open_session(request: Request, deps: Deps) -> Session | None:
    """The request's console session: signed by us, unexpired, and not logged out since."""
    session = session_keys(deps).read(request.cookies.get(COOKIE))
    if session is None or not await ConsoleSessions(deps.db).is_open(session):
        return None
    return session


async def page_session(request: Request, deps: Deps) -> Session:
    session = await open_session(request, deps)
    if session is None:
        raise LoginRequired()
    return session


@dataclass(frozen=True)
class Posted:
    session: Session
    form: FormData
    lang: str  # the page's language, for what the form answers

    def get(self, name: str, default: Any = None) -> Any:
        return self.form.get(name, default)


async def posted_form(request: Request, deps: Deps) -> Posted:
    """A form post's fields, once its session and CSRF token are proven; otherwise 403."""
    session = await open_session(request, deps)
    if session is None:
        raise Forbidden("log in to the console first", code="console_login_required")
    form = await request.form()
    if form.get("csrf") != session.csrf:
        raise Forbidden("the form's CSRF token is missing or wrong; reload the page", code="csrf_failed")
    return Posted(session, form, lang_of(request))


PageSession = Annotated[Session, Depends(page_session)]
PostedForm = Annotated[Posted, Depends(posted_form)]


def lang_of(request: Request) -> str:
    return language(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE))


def render(request: Request, template: str, session: Session | None, status_code: int = 200,
           **context: Any) -> HTMLResponse:
    lang = lang_of(request)
    response = templates.TemplateResponse(request, template, status_code=status_code, context={
        "t": lambda text: translate(lang, text), "lang": lang, "csrf": session.csrf if session else "",
        "logged_in": session is not None, **context})
    if request.query_params.get("lang") == lang:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="strict", httponly=True)
    return response


def _with_params(params: dict[str, Any], **changes: Any) -> str:
    return urlencode({k: v for k, v in {**params, **changes}.items() if v not in (None, "")})


templates.env.filters["urlencode_params"] = _with_params
templates.env.globals.update(billing_modes=BILLING_MODES, field_labels=FIELD_LABELS, user_statuses=USER_STATUSES,
                             late_policies=LATE_POLICIES)


def back_to(path: str, **params: Any) -> RedirectResponse:
    """After a form post, the page to show (303: the browser follows with a GET)."""
    query = _with_params(params)
    return RedirectResponse(f"{path}?{query}" if query else path, status_code=303)


def page_window(offset: int, total: int) -> dict[str, int | None]:
    return {"offset": offset, "total": total, "prev": max(offset - PAGE_SIZE, 0) if offset else None,
            "next": offset + PAGE_SIZE if offset + PAGE_SIZE < total else None}


def install_login_redirect(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def _to_login(request: Request, _: LoginRequired) -> RedirectResponse:
        return back_to("/admin/login", next=request.url.path)


# The limits an API key may carry, and a group give its users' keys by default.
KEY_LIMITS = ("requests_per_minute", "max_in_flight", "quota_limit")


def whole_number(value: Any) -> int | str:
    """The API refuses numeric strings; a form sends only strings, so a whole number is parsed here
    (anything else is passed on for the API's own check to refuse)."""
    text = str(value or "").strip()
    return int(text) if re.fullmatch(r"\d{1,16}", text) else text


def optional_number(form: Posted, name: str) -> int | str | None:
    """A number field: None when blank, else as `whole_number` reads it."""
    return whole_number(form.get(name)) if str(form.get(name) or "").strip() else None


def listed(value: Any) -> list[str]:
    """A field holding a list (models, status words): items separated by commas or lines, blanks dropped."""
    return [part.strip() for part in str(value or "").replace("\n", ",").split(",") if part.strip()]


def back_with_error(path: str, exc: ValidationError | ApiError, form: Posted) -> RedirectResponse:
    """After a form post the admin API refused: the page again, saying why in its language."""
    return back_to(path, error="; ".join(error_messages(exc, form.lang)))


async def saved(path: str, form: Posted, change: Callable[[], Awaitable[Any]], notice: str = "Saved") -> RedirectResponse:
    """A form post that makes one admin API change: `change` builds the API's body from the form and
    calls the route's code; the page again with the notice, or with why the API refused."""
    try:
        await change()
    except (ValidationError, ApiError) as exc:
        return back_with_error(path, exc, form)
    return back_to(path, notice=notice)


def moment(text: str) -> datetime | None:
    """A filter's date as a form sends it (`datetime-local`, naive: UTC); blank or unreadable: none."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
