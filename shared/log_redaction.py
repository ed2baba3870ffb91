"""No secret reaches a log line: credentials in URLs' query strings (uvicorn logs every WebSocket
handshake's path and query, where browser workers carry `?token=`), bearer tokens, and anything
shaped like our own API keys (`cp-...`) or worker tokens (`cpw-...`) are masked in the finished
line, whichever logger, field or traceback carried them."""
from __future__ import annotations

import re

MASK = "[redacted]"
# Query parameters whose values are credentials, as callers and upstreams name them.
SECRET_PARAMS = ("token", "key", "api_key", "apikey", "api-key", "access_token", "refresh_token", "id_token",
                 "auth", "authorization", "secret", "client_secret", "password", "passwd", "signature", "sig",
                 "x-amz-signature", "x-amz-credential", "x-amz-security-token")

_QUERY_SECRET = re.compile(r"(?i)([?&;](?:%s)=)[^&;#\s\"'\\]+" % "|".join(re.escape(p) for p in SECRET_PARAMS))
_BEARER = re.compile(r"(?i)\b(bearer\s+)[^\s\"'\\,]+")
_OUR_SECRETS = re.compile(r"\b(cpw?-)[A-Za-z0-9_-]{16,}")


def redact(text: str) -> str:
    text = _QUERY_SECRET.sub(rf"\g<1>{MASK}", text)
    text = _BEARER.sub(rf"\g<1>{MASK}", text)
    return _OUR_SECRETS.sub(rf"\g<1>{MASK}", text)
