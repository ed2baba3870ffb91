"""Errors a client can cause, each with a stable code, and the handlers that render them as
`{"code": ..., "message": ...}`. Nothing a client sends may surface as a 500."""
from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.gateway.internal_errors import internal_error


class ApiError(Exception):
    status = 400
    code: int | str = "bad_request"

    def __init__(self, message: str, *, code: int | str | None = None, status: int | None = None,
                 headers: dict[str, str] | None = None, extra: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra  # fields a seed's published answer carries besides ours
        self.code = code if code is not None else type(self).code
        self.status = status if status is not None else type(self).status
        self.headers = headers


class InvalidRequest(ApiError):
    status, code = 400, "invalid_request"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class NotFound(ApiError):
    status, code = 404, "not_found"


class Conflict(ApiError):
    status, code = 409, "conflict"


class BodyTooLarge(ApiError):
    status, code = 413, "body_too_large"


class JsonTooDeep(ApiError):
    status, code = 400, "json_too_deep"


class BillingUnavailable(ApiError):
    status, code = 503, "billing_unavailable"


# Every 503 tells the client when to come back: these are passing conditions (billing behind,
# channels cooling down, a busy upstream), and a client retrying at once only deepens them.
RETRY_AFTER_S = 2


# Hold rejections as the seed documents number them; `user_disabled` has no seed number.
HOLD_REJECTIONS: dict[str, tuple[int, int | str, str]] = {
    "insufficient_quota": (402, 1003, "insufficient quota"),
    "key_quota_exceeded": (402, "key_quota_exceeded", "this API key has reached its quota limit"),
    "not_member": (403, 1002, "membership required"),
    "user_not_found": (403, 1004, "user does not exist"),
    "user_disabled": (403, "user_disabled", "user is disabled"),
    "cancelled": (503, "billing_unavailable", "the hold was cancelled; retry"),
}


def hold_rejected(reason: str) -> ApiError:
    status, code, message = HOLD_REJECTIONS.get(reason, (403, reason, reason))
    return ApiError(message, code=code, status=status)


def validation_message(exc: RequestValidationError) -> str:
    """The first thing wrong with a request, naming where: `params.scene: Input should be ...`."""
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
    return f"{where}: {first.get('msg', 'invalid')}" if where else first.get("msg", "invalid request")


def error_response(exc: ApiError) -> JSONResponse:
    headers = {"Retry-After": str(RETRY_AFTER_S)} if exc.status == 503 else {}
    return JSONResponse({**(exc.extra or {}), "code": exc.code, "message": exc.message}, status_code=exc.status,
                        headers={**headers, **(exc.headers or {})})


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"code": "invalid_request", "message": validation_message(exc)}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse({"code": code, "message": str(exc.detail)}, status_code=exc.status_code)

    @app.exception_handler(Exception)  # the last resort: errors of a middleware (internal_errors takes the routes')
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return internal_error(request.url.path)
