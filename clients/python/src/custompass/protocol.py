"""The transport-free half of the SDK: what to send and what an answer means.

An operation (`operations.py`) is a generator that yields *steps* (send this request, open this
stream, read a line, sleep, emit a value to the caller) and is sent back each step's outcome (an
`httpx.Response`, a line, or the `httpx.TransportError` that happened instead). `Client` and
`AsyncClient` are two small drivers of the same operations, so retries, waiting and streaming are
written once and behave the same in both."""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import httpx

from custompass.errors import ApiError, error_class


@dataclass(frozen=True)
class Plan:
    """One HTTP request, before any transport sees it. `timeout`: the read timeout in seconds
    (None: the client's own)."""
    method: str
    path: str
    params: dict[str, Any] | None = None
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float | None = None


@dataclass(frozen=True)
class Send:
    """Send the plan, read the whole answer -> `httpx.Response` or `httpx.TransportError`."""
    plan: Plan


@dataclass(frozen=True)
class Open:
    """Open the plan as a stream -> `httpx.Response` (its body read when not 2xx) or the error."""
    plan: Plan


@dataclass(frozen=True)
class ReadLine:
    """The open stream's next line -> `str`, `None` at its end, or the `httpx.TransportError`."""


@dataclass(frozen=True)
class Close:
    """Close the open stream, if any -> None."""


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Emit:
    """Hand a value to the caller (a result, or one event of a stream)."""
    value: Any


Outcome = httpx.Response | httpx.TransportError


def retry_after(response: httpx.Response) -> float | None:
    """`Retry-After` in seconds (the gateway sends whole seconds; an HTTP date is not used)."""
    try:
        return max(0.0, float(response.headers["retry-after"]))
    except (KeyError, ValueError):
        return None


def error_code(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None


def api_error(response: httpx.Response) -> ApiError:
    """The typed exception of an error answer: `{"code", "message"}` (the dispatch seed's
    `error` field stands in for a missing message; a body that is not JSON becomes the message)."""
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    envelope = body if isinstance(body, dict) else {}
    message = envelope.get("message") or envelope.get("error") or response.text[:500] or response.reason_phrase
    return error_class(response.status_code)(response.status_code, envelope.get("code"), str(message),
                                             body, retry_after(response))


@dataclass
class RetryPolicy:
    """When an attempt is tried again: a connection error (refused, dropped, timed out), 503
    (with or without `Retry-After`), 429 with a `Retry-After` it can honour, and 409
    `idempotency_in_progress` (the first attempt of the same submit is still being answered).
    Backoff is exponential with full jitter; `Retry-After`, when given, is the delay."""
    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0
    rng: random.Random = field(default_factory=random.Random)

    def backoff(self, attempt: int) -> float:
        return self.rng.uniform(0, min(self.max_delay, self.base_delay * 2 ** attempt))

    def delay(self, attempt: int, outcome: Outcome) -> float | None:
        """Seconds to wait before attempt `attempt + 1`, or None: no retry."""
        if attempt + 1 >= self.attempts:
            return None
        if isinstance(outcome, httpx.TransportError):
            return self.backoff(attempt)
        status, after = outcome.status_code, retry_after(outcome)
        if after is not None and after > self.max_retry_after:
            return None
        if status == 503:
            return after if after is not None else self.backoff(attempt)
        if status == 429 and after is not None:
            return after
        if status == 409 and error_code(outcome) == "idempotency_in_progress":
            return self.backoff(attempt)
        return None
