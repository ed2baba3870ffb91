"""Console sessions: a signed cookie after logging in with the admin token, and a CSRF token
bound to the session for every form.

The signing key is derived from the admin token, so rotating the token ends every session. The
cookie is HttpOnly and SameSite=Strict; every form post must also carry the session's CSRF token.
A valid signature is not enough: the session must also still be open (`session_store.py`).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

COOKIE = "cp_console"
SESSION_S = 8 * 3600


@dataclass(frozen=True)
class Session:
    sid: str
    expires: float
    csrf: str


class SessionKeys:
    def __init__(self, admin_token: str) -> None:
        self._key = hmac.new(admin_token.encode(), b"custompass console session", hashlib.sha256).digest()

    def issue(self) -> tuple[str, Session]:
        """A new session and the cookie that carries it."""
        sid, expires = secrets.token_urlsafe(16), time.time() + SESSION_S
        payload = base64.urlsafe_b64encode(json.dumps({"sid": sid, "exp": expires}).encode()).decode()
        return f"{payload}.{self._sign(payload)}", self._session(sid, expires)

    def read(self, cookie: str | None) -> Session | None:
        """The session a cookie carries, or None when it is missing, forged or expired."""
        payload, _, signature = (cookie or "").partition(".")
        if not payload or not hmac.compare_digest(signature, self._sign(payload)):
            return None
        try:
            fields = json.loads(base64.urlsafe_b64decode(payload.encode()))
            sid, expires = str(fields["sid"]), float(fields["exp"])
        except (ValueError, KeyError, TypeError):
            return None
        if expires < time.time():
            return None
        return self._session(sid, expires)

    def _session(self, sid: str, expires: float) -> Session:
        return Session(sid=sid, expires=expires, csrf=self._sign(f"csrf:{sid}"))

    def _sign(self, text: str) -> str:
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()
