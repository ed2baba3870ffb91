"""Admin pages of worker dispatch (seed 003): `/dashboard` and `/test-worker`.

The pages are static shells holding no secret; what they show or do needs a credential the
person types in: the admin token for `GET /admin/dispatch` (the dashboard's data), a worker
token for the test worker's socket. So they are admin-only without a browser session."""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from services.gateway.deps import AdminAuth, Deps
from services.gateway.workers.overview import dispatch_overview

PAGES = Path(__file__).resolve().parent.parent / "pages"

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
