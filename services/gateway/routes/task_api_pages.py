"""The Task API's pages for a business's users: `/task/{taskId}` (one task, polled until it
finishes) and `/tasks` (their list with filters). Static shells holding no secret: the script
reads the user's credential from the URL fragment (`#token=`, see `pages/task-pages.js`) and calls
the Task API with it, so the pages show exactly what the API lets that user see."""
from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse

from services.gateway.routes.pages import PAGES, page_asset

router = APIRouter(include_in_schema=False)
ASSETS = {"task-pages.js": "text/javascript", "task-dialects.js": "text/javascript", "task.js": "text/javascript",
          "tasks.js": "text/javascript", "task-pages.css": "text/css"}


@router.get("/task/{task_id}")
async def task_page(task_id: str) -> HTMLResponse:
    return HTMLResponse((PAGES / "task.html").read_text())


@router.get("/tasks")
async def tasks_page() -> HTMLResponse:
    return HTMLResponse((PAGES / "tasks.html").read_text())


@router.get("/task-pages/{name}")
async def asset(name: str) -> FileResponse:
    return page_asset(name, ASSETS)
