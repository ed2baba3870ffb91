"""The answer to an error no handler took: a logged 500 `internal_error`, sent by the app itself.

Starlette's catch-all (`exception_handler(Exception)`) answers from the outermost layer and then
re-raises, so the error crosses every middleware as an exception: the request metrics never
count it, and uvicorn, seeing the app raise, closes the client's keep-alive connection. This
middleware sits innermost, around the routes: the 500 becomes an ordinary answer that every
other middleware sees (counted, logged, given the security headers) and the connection stays
open. An error after the answer has begun (a stream cut short) can no longer become an answer:
it is re-raised, and the server ends the connection, which tells the client the body is
incomplete."""
from __future__ import annotations

import logging

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)


def internal_error(path: str) -> JSONResponse:
    """Logs the error being handled (with its stack) and returns the answer a client gets for it."""
    log.exception("unhandled error", extra={"path": path})
    return JSONResponse({"code": "internal_error", "message": "internal error"}, status_code=500)


class InternalErrorMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception:
            if started:
                raise
            await internal_error(scope["path"])(scope, receive, send)
