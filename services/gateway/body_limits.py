"""Input bounds: how large a request body may be, and how deeply a JSON body may nest.

Enforced in front of every route (an ASGI middleware), while the body is read: a declared
`Content-Length` over the limit is refused before a byte is read, and a streamed (chunked) body
is refused as soon as what arrived passes it, so an oversized body is never held in memory.
A body that starts like JSON (`{` or `[`) is then checked for nesting before any route parses
it: the standard library's parser and pydantic recurse per level, and a body nested 100,000
deep would end in a RecursionError (a 500) wherever it was parsed.

The routes read the body the middleware kept (it is replayed to them unchanged).
"""
from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.gateway.errors import ApiError, BodyTooLarge, JsonTooDeep, error_response

_NOT_A_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_AS_SQUARE = bytes.maketrans(b"{}", b"[]")
_NESTING = {ord("["): 1, ord("]"): -1}
# Passes that each take the innermost pairs away (one level) at the speed of bytes.replace,
# before the rest is counted bracket by bracket: most bodies are gone after a few.
_LEVELS_REMOVED_BY_REPLACE = 8


def json_depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON text (0 for a scalar). Counts
    brackets outside strings without parsing (no recursion at any depth), with the standard
    library's C string operations wherever it can: a body of the largest size costs well under
    a second whatever it holds."""
    unescaped = body.replace(b"\\\\", b"").replace(b'\\"', b"")  # every quote left opens or closes a string
    brackets = b"".join(unescaped.split(b'"')[::2]).translate(_AS_SQUARE, _NOT_A_BRACKET)
    levels = 0
    while brackets and levels < _LEVELS_REMOVED_BY_REPLACE:
        inner_removed = brackets.replace(b"[]", b"")
        if len(inner_removed) == len(brackets):  # unbalanced: not JSON, counted as it stands
            break
        brackets, levels = inner_removed, levels + 1
    return levels + max(itertools.accumulate(map(_NESTING.__getitem__, brackets)), default=0)


def looks_like_json(body: bytes) -> bool:
    return body.lstrip()[:1] in (b"{", b"[")


@dataclass(frozen=True)
class BodyLimits:
    """`by_prefix`: path prefixes with their own size limit (the first that matches wins)."""
    default_max_bytes: int
    by_prefix: tuple[tuple[str, int], ...]
    json_max_depth: int

    def max_bytes(self, path: str) -> int:
        return next((limit for prefix, limit in self.by_prefix if path.startswith(prefix)), self.default_max_bytes)


class BodyLimitMiddleware:
    """`dialect`: renders an error in the envelope of the API family a path belongs to."""

    def __init__(self, app: ASGIApp, limits: BodyLimits, dialect: Callable[[str, ApiError], ApiError]) -> None:
        self._app = app
        self._limits = limits
        self._dialect = dialect

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        path = scope["path"]
        try:
            first = await self._read_bounded(scope, receive, self._limits.max_bytes(path))
        except ApiError as exc:
            await error_response(self._dialect(path, exc))(scope, receive, send)
            return
        await self._app(scope, _replaying(first, receive), send)

    async def _read_bounded(self, scope: Scope, receive: Receive, max_bytes: int) -> Message:
        """The whole body as one `http.request` message (or the disconnect that cut it short)."""
        declared = _content_length(scope)
        if declared is not None and declared > max_bytes:
            raise _too_large(max_bytes)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: let the app see it
                return message
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > max_bytes:
                raise _too_large(max_bytes)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if looks_like_json(body) and json_depth(body) > self._limits.json_max_depth:
            raise JsonTooDeep(f"JSON nested deeper than {self._limits.json_max_depth} levels")
        return {"type": "http.request", "body": body, "more_body": False}


def _too_large(max_bytes: int) -> BodyTooLarge:
    return BodyTooLarge(f"request body larger than {max_bytes} bytes")


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length itself
    return None


def _replaying(first: Message, receive: Receive) -> Receive:
    """The body as one message, then whatever the client sends next (its disconnect)."""
    pending = [first]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay
