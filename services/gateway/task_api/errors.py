"""The Task API's error envelope (seed 001): `{"success": false, "code": N, "message": str}`.

Its routes use `TaskApiRoute`, which renders every client error raised while serving them (in
authentication, validation or the engine underneath) with the seed's numbers: 4001 bad
parameters (HTTP 400), 4003 not allowed (401 without valid credentials, 403 otherwise), 4004 not
found (404); 1002, 1003 and 1004 are the engine's own. Other errors (429, 409, 502, ...) keep
their status and our stable string code.
"""
from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from services.gateway.errors import ApiError, validation_message

BAD_PARAMETERS, FORBIDDEN, NOT_FOUND = 4001, 4003, 4004
# The Task API's routes that take a body; `GET /api/task/{taskId}` (no body) answers in the
# dialect of the API that created the task, see task_lookup.
BODY_PATHS = "/api/task/"
_SEED_CODES = {400: BAD_PARAMETERS, 422: BAD_PARAMETERS, 401: FORBIDDEN, 403: FORBIDDEN, 404: NOT_FOUND}


def in_seed_envelope(exc: ApiError) -> ApiError:
    numbered = isinstance(exc.code, int)  # 1002, 1003, 1004: already the seed's
    code = exc.code if numbered else _SEED_CODES.get(exc.status, exc.code)
    status = 400 if exc.status == 422 else exc.status
    return ApiError(exc.message, code=code, status=status, headers=exc.headers,
                    extra={**(exc.extra or {}), "success": False})


def in_envelope_of(path: str, exc: ApiError) -> ApiError:
    """For errors raised before any route runs (input bounds): the envelope of the path's API."""
    return in_seed_envelope(exc) if path.startswith(BODY_PATHS) else exc


class TaskApiRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        serve = super().get_route_handler()

        async def in_task_api_dialect(request: Request) -> Response:
            try:
                return await serve(request)
            except ApiError as exc:
                raise in_seed_envelope(exc) from None
            except RequestValidationError as exc:
                raise in_seed_envelope(ApiError(validation_message(exc), code=BAD_PARAMETERS)) from None

        return in_task_api_dialect
