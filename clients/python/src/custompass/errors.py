"""The SDK's exceptions: every API error carries the gateway's `code` (a stable string such as
`task_not_found`, or a seed's number such as 1003) and the HTTP status, so callers branch on
the code, never on the message."""
from __future__ import annotations

from typing import Any


class CustomPassError(Exception):
    """Anything the SDK raises."""


class UsageError(CustomPassError, ValueError):
    """The SDK was called wrongly: no gateway URL or key, a wait out of range, a body that is not JSON."""


class ApiError(CustomPassError):
    """The gateway answered with an error envelope `{"code", "message"}`."""

    def __init__(self, status: int, code: int | str | None, message: str, body: Any = None,
                 retry_after: float | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.body = body
        self.retry_after = retry_after


class BadRequest(ApiError):
    """400 / 422: the request itself is wrong."""


class Unauthorized(ApiError):
    """401: missing, unknown, disabled or expired key."""


class PaymentRequired(ApiError):
    """402: not enough quota (1003) or the key's quota limit (key_quota_exceeded)."""


class Forbidden(ApiError):
    """403: user disabled, model not allowed, membership required."""


class NotFound(ApiError):
    """404: unknown, foreign (answered like unknown) or expired task; unknown model."""


class Conflict(ApiError):
    """409: task finished, cancel not supported, Idempotency-Key reused."""


class RateLimited(ApiError):
    """429: rate_limited (with Retry-After) or too_many_in_flight."""


class ServerError(ApiError):
    """5xx: billing unavailable, upstream trouble, internal error."""


_BY_STATUS: dict[int, type[ApiError]] = {400: BadRequest, 422: BadRequest, 401: Unauthorized,
                                         402: PaymentRequired, 403: Forbidden, 404: NotFound,
                                         409: Conflict, 429: RateLimited}


def error_class(status: int) -> type[ApiError]:
    return _BY_STATUS.get(status, ServerError if status >= 500 else ApiError)


class TransportError(CustomPassError):
    """The gateway could not be reached (or the connection dropped) on every attempt."""


class WaitTimeout(CustomPassError, TimeoutError):
    """The task was not terminal within the wait; `task` is how it was last seen (or None)."""

    def __init__(self, task_id: str, task: Any = None) -> None:
        super().__init__(f"task {task_id} not finished in time"
                         + (f" (last status {task.status})" if task is not None else ""))
        self.task_id = task_id
        self.task = task


class StreamUnavailable(CustomPassError):
    """The gateway has no event stream for this task (an older gateway): poll instead."""
