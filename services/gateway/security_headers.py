"""Security headers on every gateway response, in one place (issue 16).

Everything the gateway answers may not be framed (`frame-ancestors 'none'`, `X-Frame-Options`),
sniffed into another type (`nosniff`), or leak its address in a Referer (task pages carry a
credential in their fragment, console pages name users). Each family of page gets the narrowest
Content-Security-Policy that still lets it work:

- pages with script (`/test-worker`, the Task API's `/task/{id}` and `/tasks`) run
  only the gateway's own script files: no inline script, so text a worker or upstream managed to
  put in the page as markup still cannot run;
- the console's overview (`/admin/ui/overview`) runs only its own chart files, and its pages that
  show a new secret (the answers to `POST /admin/ui/users/{id}/api-keys` and
  `POST /admin/ui/worker-tokens`) only their Copy button's file, with no
  inline script;
- the console's dispatch page (`/admin/ui/dispatch`) runs only its own file, which may also fetch
  the gateway's own JSON (its live figures);
- the rest of the console and everything else (JSON, assets) run no script at all;
- `/docs` and `/redoc` run the viewers' script files, served by the gateway itself (no CDN).

A route that needs a stricter policy (result files: `result_files.py`) sets its own header; this
middleware only fills in what a response left unset. Pure ASGI rather than `BaseHTTPMiddleware`,
so streamed answers (`stream_relay.py`) pass through untouched and WebSockets are not involved.
"""
from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_NO_FRAMING = "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
NO_SCRIPT = f"default-src 'none'; style-src 'self'; img-src 'self'; {_NO_FRAMING}"
CONSOLE_CHARTS = f"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; {_NO_FRAMING}"
CONSOLE_LIVE = f"default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; {_NO_FRAMING}"
# Result images on the Task API's page come from wherever the upstream (or our storage) keeps them.
OWN_SCRIPT_FILES = (f"default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                    f"img-src 'self' https: http: data:; {_NO_FRAMING}")
# Swagger UI and ReDoc, served from the gateway itself (api_docs.py): their own script files only;
# inline styles (both viewers set them), data: images, and ReDoc's search worker from a blob.
API_DOCS = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            f"font-src 'self'; worker-src blob:; connect-src 'self'; {_NO_FRAMING}")

SCRIPTED_PAGES = {"/test-worker", "/tasks"}
SCRIPTED_PAGE_PREFIXES = ("/task/",)
DOCS_PAGES = {"/docs", "/redoc"}
CHART_PAGES = {"/admin/ui/overview"}
# The answers (to a POST) that show a new secret once, an API key or a worker token, with their
# Copy button; the pages at the same paths otherwise run no script.
KEY_CREATED_PAGES = re.compile(r"/admin/ui/users/[^/]+/api-keys|/admin/ui/worker-tokens")
LIVE_PAGES = {"/admin/ui/dispatch"}

ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def content_security_policy(path: str, method: str = "GET") -> str:
    if path in SCRIPTED_PAGES or path.startswith(SCRIPTED_PAGE_PREFIXES):
        return OWN_SCRIPT_FILES
    if path in DOCS_PAGES:
        return API_DOCS
    if path in CHART_PAGES or (method == "POST" and KEY_CREATED_PAGES.fullmatch(path)):
        return CONSOLE_CHARTS
    if path in LIVE_PAGES:
        return CONSOLE_LIVE
    return NO_SCRIPT


def security_headers(path: str, method: str = "GET") -> dict[str, str]:
    return {**ALWAYS, "Content-Security-Policy": content_security_policy(path, method)}


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wanted = security_headers(scope["path"], scope["method"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name.lower().encode(), value.encode()) for name, value in wanted.items()
                            if name.lower().encode() not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
