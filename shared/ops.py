"""Operational endpoints every service serves: /healthz, /readyz, /metrics.

A service puts its readiness checks (async callables that raise when a dependency is down)
on `app.state.ready_checks` during start-up; until then /readyz answers 503.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

ReadyCheck = Callable[[], Awaitable[object]]

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    checks: dict[str, ReadyCheck] = getattr(request.app.state, "ready_checks", {})
    if not checks:
        return JSONResponse({"status": "starting"}, status_code=503)
    results = {}
    for name, check in checks.items():
        try:
            await asyncio.wait_for(check(), timeout=2.0)
            results[name] = "ok"
        except Exception as exc:  # any failure means "not ready"; the reason is reported
            results[name] = f"error: {type(exc).__name__}"
    ready = all(v == "ok" for v in results.values())
    return JSONResponse({"status": "ready" if ready else "not_ready", "checks": results},
                        status_code=200 if ready else 503)


@router.get("/metrics")
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def service_app(title: str, lifespan) -> FastAPI:
    """A service's ASGI app with the operational endpoints in place."""
    app = FastAPI(title=title, lifespan=lifespan)
    app.include_router(router)
    return app
