"""Admin pages of worker dispatch (seed 003): `/dashboard` and `/test-worker`.

The pages are static shells (their script and style are files beside them) holding no secret; what they show or do needs a credential the
person types in: the admin token for `GET /admin/dispatch` (the dashboard's data), a worker
token for the test worker's socket. So they are admin-only without a browser session."""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse

from services.gateway.deps import AdminAuth, Deps
from services.gateway.errors import NotFound
from services.gateway.workers.overview import dispatch_overview

PAGES = Path(__file__).resolve().parent.parent / "pages"
# Pages run only script files (security_headers.py admits no inline script): these are theirs.
ASSETS = {"dashboard.js": "text/javascript", "test-worker.js": "text/javascript", "dispatch-pages.css": "text/css"}

router = APIRouter()


@router.get("/admin/dispatch", tags=["admin"], dependencies=[AdminAuth])
async def dispatch_state(deps: Deps) -> dict:
    """Workers online, queued and executing tasks (with their request), the latest finished ones."""
    return await dispatch_overview(deps.db, deps.workers)


@router.get("/dashboard", include_in_schema=False)
async def dashboard() -> HTMLResponse:
    return HTMLResponse((PAGES / "dashboard.html").read_text())


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
