"""Admin pages of worker dispatch (seed 003): `/test-worker`, and `/dashboard`, now the console's
dispatch page (`console/dispatch_pages.py`, behind the console session) to which it redirects.

The test worker is a static shell (its script and style are files beside it) holding no secret;
what it does needs the worker token the person types in for its socket."""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from services.gateway.deps import AdminAuth, Deps
from services.gateway.errors import NotFound
from services.gateway.workers.overview import dispatch_overview

PAGES = Path(__file__).resolve().parent.parent / "pages"
# Pages run only script files (security_headers.py admits no inline script): these are theirs.
ASSETS = {"test-worker.js": "text/javascript", "dispatch-pages.css": "text/css"}

router = APIRouter()


@router.get("/admin/dispatch", tags=["admin"], dependencies=[AdminAuth])
async def dispatch_state(deps: Deps) -> dict:
    """Workers online, queued and executing tasks (with their request), the latest finished ones."""
    return await dispatch_overview(deps.db, deps.workers)


@router.get("/dashboard", include_in_schema=False)
async def dashboard() -> RedirectResponse:
    """The dispatch dashboard moved into the console (same session; the login page first if none)."""
    return RedirectResponse("/admin/ui/dispatch", status_code=308)


@router.get("/test-worker", include_in_schema=False)
async def test_worker() -> HTMLResponse:
    return HTMLResponse((PAGES / "test-worker.html").read_text())


@router.get("/dispatch-pages/{name}", include_in_schema=False)
async def asset(name: str) -> FileResponse:
    return page_asset(name, ASSETS)


def page_asset(name: str, assets: dict[str, str]) -> FileResponse:
    """One of a page family's own files, by name from its list: nothing else in the directory."""
    if name not in assets:
        raise NotFound(f"no page asset {name}")
    return FileResponse(PAGES / name, media_type=assets[name])
