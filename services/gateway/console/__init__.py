"""The admin console: server-rendered pages at /admin for the people who run a deployment."""
from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from services.gateway.console import (auth_pages, channel_pages, dispatch_pages, group_pages, log_pages,
                                     overview_pages, reconciliation_pages, task_pages, task_type_pages, user_pages,
                                     worker_token_pages)
from services.gateway.console.pages import HERE, install_login_redirect


def install_console(app: FastAPI) -> None:
    install_login_redirect(app)
    app.mount("/admin/static", StaticFiles(directory=HERE / "static"), name="console-static")
    for router in (auth_pages.router, overview_pages.router, channel_pages.router, user_pages.router, group_pages.router,
                   task_type_pages.router, task_pages.router, log_pages.router, log_pages.csv_router,
                   reconciliation_pages.router, worker_token_pages.router, dispatch_pages.router):
        app.include_router(router)
