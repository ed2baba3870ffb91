"""Typed dependencies, so a route's signature lists what it needs (`AdminAuth`, `Caller`, `Deps`).

Every dependency is an `async def`, even one that awaits nothing: FastAPI runs a plain `def` in
its thread pool, a hand-off to a worker thread and back on every request (py-spy found it on the
async submit's profile; alone, it costs about a third of a millisecond of CPU per request).
tests/gateway/test_dependencies.py keeps it so."""
from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from services.gateway.container import Container
from services.gateway.errors import Forbidden, Unauthorized
from services.gateway.groups import key_defaults
from services.gateway.request_log import note_caller
from shared.clock import now, parse
from shared.upstream.caller_token import UpstreamCaller, upstream_caller


async def get_container(request: Request) -> Container:
    return request.app.state.container


Deps = Annotated[Container, Depends(get_container)]


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing bearer token")
    return token.strip()


async def require_admin(request: Request, deps: Deps) -> None:
    if not hmac.compare_digest(bearer_token(request).encode(), deps.settings.admin_token.encode()):
        raise Unauthorized("invalid admin token")


AdminAuth = Depends(require_admin)


@dataclass(frozen=True)
class CallerIdentity:
    user: dict[str, Any]
    key: dict[str, Any] | None  # None for a Task API caller signed in by JWT: key limits do not apply
    token: str
    group: dict[str, Any]  # the user's group, read once per request (price ratio, key defaults)

    @property
    def user_id(self) -> str:
        return self.user["_id"]

    @property
    def key_id(self) -> str | None:
        return self.key["_id"] if self.key is not None else None

    def upstream(self, user_ref_secret: str) -> UpstreamCaller:
        """What a channel may forward about this caller (its `caller_token` choice picks one)."""
        return upstream_caller(self.token, self.user_id, user_ref_secret)


async def current_caller(request: Request, deps: Deps) -> CallerIdentity:
    token = bearer_token(request)
    key = await deps.users.find_key(token)
    if key is None:
        raise Unauthorized("invalid API key")
    # Read on every call, so disabling a key or its expiry applies on every instance at once.
    if not key.get("enabled", True):
        raise Unauthorized("API key is disabled", code="key_disabled")
    if key.get("expires_at") and parse(key["expires_at"]) <= now():
        raise Unauthorized(f"API key expired at {key['expires_at']}", code="key_expired")
    user = await deps.users.get(key["user_id"])
    if user is None:
        raise Unauthorized("invalid API key")
    note_caller(request, user["_id"])
    return await identity_of(deps, user, key, token)


async def identity_of(deps: Container, user: dict[str, Any], key: dict[str, Any] | None,
                      token: str) -> CallerIdentity:
    """The caller once authenticated, whichever way: an active user, with their group."""
    if user.get("status") != "active":
        raise Forbidden("user is disabled", code="user_disabled")
    group = await deps.groups.of_user(user)
    limits = with_group_defaults(key, key_defaults(group)) if key is not None else None
    return CallerIdentity(user=user, key=limits, token=token, group=group)


def with_group_defaults(key: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """The key as its limits apply: its own settings, and its group's defaults where it has none."""
    return {**key, **{field: value for field, value in defaults.items() if key.get(field) is None}}


Caller = Annotated[CallerIdentity, Depends(current_caller)]
