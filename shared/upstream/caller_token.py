"""What a CustomPass channel tells its upstream about the caller, in the caller-token header
(`X-Custom-Token` unless the channel or CUSTOM_PASS_HEADER_KEY names another): the per-channel
`caller_token` choice.

- `user_ref` (the default): a stable, per-user reference, HMAC-SHA256 of the user id keyed by
  USER_REF_SECRET. The upstream can tell end users apart with it, but it is no credential: we
  never accept it, and it reveals neither the key nor the user id.
- `key`: the caller's own credential (API key, or a Task API caller's JWT), as gateways of the
  dual-credential protocol forward it; an upstream could replay it against us, so only for
  upstreams trusted with that.
- `none`: the header is not sent.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Literal

CallerTokenChoice = Literal["key", "user_ref", "none"]
DEFAULT_CALLER_TOKEN: CallerTokenChoice = "user_ref"
USER_REF_PREFIX = "uref_"


@dataclass(frozen=True)
class UpstreamCaller:
    """Who a request goes upstream for: the two things a channel may forward."""
    credential: str  # the caller's own API key or JWT
    user_ref: str


def user_ref(user_id: str, secret: str) -> str:
    digest = hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()
    return f"{USER_REF_PREFIX}{digest[:32]}"


def upstream_caller(credential: str, user_id: str, secret: str) -> UpstreamCaller:
    return UpstreamCaller(credential=credential, user_ref=user_ref(user_id, secret))


def forwarded_token(choice: CallerTokenChoice | None, caller: UpstreamCaller | None) -> str:
    """The caller-token header's value for a channel's choice; empty: the header is not sent."""
    if caller is None:  # no caller behind the request (status queries, channel tests)
        return ""
    choice = choice or DEFAULT_CALLER_TOKEN
    if choice == "key":
        return caller.credential
    if choice == "user_ref":
        return caller.user_ref
    return ""
