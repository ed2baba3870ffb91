"""Who calls the Task API: a user's API key, or a JWT (HS256) the business's own site issued for
one of its users (`sub` = user id, `exp` required). Both on every `/api/task/*` route; a JWT
caller has no API key, so only its user's limits apply. The status route is internal: the admin
token or `TASK_API_SERVICE_TOKEN`."""
from __future__ import annotations

import hmac
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request

from services.gateway.deps import CallerIdentity, Deps, bearer_token, current_caller, identity_of
from services.gateway.errors import Unauthorized, hold_rejected
from services.gateway.request_log import note_caller


def _is_jwt(token: str) -> bool:
    return token.count(".") == 2  # API keys (`cp-` + URL-safe base64) never hold a dot


def claims_of(token: str, secret: str) -> dict[str, Any]:
    if not secret:
        raise Unauthorized("JWT sign-in is not enabled here (TASK_API_JWT_SECRET)", code="jwt_disabled")
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["sub", "exp"]})
    except jwt.ExpiredSignatureError:
        raise Unauthorized("token expired", code="token_expired") from None
    except jwt.InvalidTokenError as exc:
        raise Unauthorized(f"invalid token: {exc}", code="invalid_token") from None
    if not isinstance(claims["sub"], str) or not claims["sub"]:
        raise Unauthorized("invalid token: sub must name a user", code="invalid_token")
    return claims


async def task_api_caller(request: Request, deps: Deps) -> CallerIdentity:
    token = bearer_token(request)
    if not _is_jwt(token):
        return await current_caller(request, deps)
    claims = claims_of(token, deps.settings.task_api_jwt_secret)
    user = await deps.users.get(claims["sub"])
    if user is None:
        raise hold_rejected("user_not_found")  # 1004, as billing answers for a missing user
    note_caller(request, user["_id"])
    return await identity_of(deps, user, None, token)


TaskApiCaller = Annotated[CallerIdentity, Depends(task_api_caller)]


async def require_internal(request: Request, deps: Deps) -> None:
    token = bearer_token(request).encode()
    allowed = [t for t in (deps.settings.admin_token, deps.settings.task_api_service_token) if t]
    if not any(hmac.compare_digest(token, t.encode()) for t in allowed):
        raise Unauthorized("internal route: admin or service token required")


InternalAuth = Depends(require_internal)
