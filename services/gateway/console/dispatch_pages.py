"""Worker dispatch in the console: `/admin/ui/dispatch` and its figures as JSON, both behind the
console session (no admin token in the browser).

The page is rendered from `workers.overview.dispatch_overview`, the function `GET /admin/dispatch`
answers from, and kept live by `static/dispatch.js`, which reads `/admin/ui/dispatch.json` every
few seconds and rewrites the tables' bodies as text (DOM nodes, `textContent`): worker ids, groups,
requests, results and errors come from workers and callers, so none of it becomes markup. Its
Content-Security-Policy (`security_headers.CONSOLE_LIVE`) adds only the gateway's own script and
fetches to the console's."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services.gateway.console.i18n import translate
from services.gateway.console.pages import PageSession, lang_of, render
from services.gateway.deps import Deps
from services.gateway.workers.overview import dispatch_overview

router = APIRouter(include_in_schema=False)
REFRESH_MS = 3000
# What the script writes itself (table headers and cells are in the template), translated here.
SCRIPT_LABELS = {"busy": "Busy", "idle": "Idle", "completed": "Completed", "failed": "Failed",
                 "none": "Nothing here yet", "updated": "Updated", "error": "Refresh failed"}


@router.get("/admin/ui/dispatch", response_class=HTMLResponse)
async def dispatch_page(request: Request, session: PageSession, deps: Deps) -> HTMLResponse:
    lang = lang_of(request)
    return render(request, "dispatch.html", session, d=await dispatch_overview(deps.db, deps.workers),
                  clock=clock, as_json=as_json, refresh_ms=REFRESH_MS,
                  labels={key: translate(lang, text) for key, text in SCRIPT_LABELS.items()})


@router.get("/admin/ui/dispatch.json")
async def dispatch_figures(_: PageSession, deps: Deps) -> dict[str, Any]:
    """The same figures as the page, for its script; without a console session, the login page."""
    return await dispatch_overview(deps.db, deps.workers)


def clock(moment: int | str | None) -> str:
    """A moment (epoch milliseconds or an ISO stamp) as HH:MM:SS UTC, as dispatch.js writes it."""
    if isinstance(moment, int):
        return datetime.fromtimestamp(moment / 1000, UTC).strftime("%H:%M:%S")
    return str(moment or "")[11:19]


def as_json(value: Any) -> str:
    """A request or result as dispatch.js shows it (`JSON.stringify(value, null, 1)`); autoescaped."""
    return json.dumps(value, indent=1, ensure_ascii=False)
