"""No request waits for FastAPI's thread pool: every route of the gateway, and every dependency a
route takes (services/gateway/deps.py says why), is an `async def`."""
from __future__ import annotations

import inspect

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIWebSocketRoute

from tools.contracts.openapi import gateway_app


def _routes(routes) -> list:
    """The app's routes, through the routers it includes (FastAPI keeps those as wrappers)."""
    found = []
    for route in routes:
        if isinstance(route, APIRoute | APIWebSocketRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found += _routes(route.original_router.routes)
    return found


def _calls(dependant: Dependant) -> list:
    return [dependant.call, *(call for sub in dependant.dependencies for call in _calls(sub))]


def _runs_on_the_loop(call) -> bool:
    return inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(getattr(call, "__call__", None))


def test_every_route_and_dependency_runs_on_the_event_loop():
    app = gateway_app()
    routes = _routes(app.routes)
    assert len(routes) > 50  # the walk found the app's routes
    in_the_pool = sorted({f"{route.path}: {call.__module__}.{call.__qualname__}"
                          for route in routes for call in _calls(route.dependant)
                          if call is not None and not _runs_on_the_loop(call)})
    assert in_the_pool == []
