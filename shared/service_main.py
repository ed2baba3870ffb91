"""Starts a service process: settings from the environment, JSON logs, uvicorn.

uvicorn turns SIGTERM into a graceful shutdown: the app's lifespan exits, consumers stop
after their current batch, connections close.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import uvicorn
from fastapi import FastAPI
from pydantic import ValidationError

from shared.logging import configure_logging
from shared.settings import CommonSettings
from shared.tracing import configure_tracing

S = TypeVar("S", bound=CommonSettings)


def run_service(name: str, settings_type: type[S], create_app: Callable[[S], FastAPI],
                port: Callable[[S], int]) -> None:
    try:
        settings = settings_type()
    except ValidationError as exc:  # a misconfiguration: say what to set, not a traceback
        reasons = "; ".join(error["msg"].removeprefix("Value error, ") for error in exc.errors())
        raise SystemExit(f"{name}: refusing to start: {reasons}") from None
    configure_logging(name, settings.log_level)
    configure_tracing(name, settings)  # before the app: its broker and clients see whether it is on
    # Our JSON formatter only (log_config=None), no colours, and no access log: the gateway logs
    # each request itself (services/gateway/request_log.py), with its route template and task.
    uvicorn.run(create_app(settings), host=settings.bind_host, port=port(settings), log_config=None,
                access_log=False, use_colors=False, timeout_graceful_shutdown=15,
                timeout_keep_alive=settings.http_keepalive_s)
