"""Every gateway response carries the security headers (`services/gateway/security_headers.py`):
no page can be framed or sniffed into another type, no address leaks in a Referer, and each family
of page gets a Content-Security-Policy that lets it run only the gateway's own script files."""
from __future__ import annotations

import re

import httpx
import pytest

from services.gateway.security_headers import (CONSOLE_LIVE, NO_SCRIPT, OWN_SCRIPT_FILES, SecurityHeadersMiddleware,
                                               content_security_policy)
from tests.console.conftest import ConsoleClient

CONSOLE_PAGES = ["/admin/ui/channels", "/admin/ui/channels/new", "/admin/ui/users", "/admin/ui/tasks",
                 "/admin/ui/logs", "/admin/ui/worker-tokens"]
SCRIPTED_PAGES = ["/test-worker", "/task/tsk-unknown", "/tasks"]
OTHER_ROUTES = ["/admin/login", "/admin/static/console.css", "/task-pages/task-pages.js", "/healthz",
                "/openapi.json", "/results/tsk-unknown/none.png", "/no-such-route"]
API_ROUTES = [("GET", "/admin/channels"), ("GET", "/api/task/list"), ("POST", "/pass/some-model/submit")]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)


def policy(response: httpx.Response) -> dict[str, str]:
    directives = [part.strip().split(None, 1) for part in response.headers["content-security-policy"].split(";")]
    return {d[0]: d[1] if len(d) > 1 else "" for d in directives if d}


def assert_protected(response: httpx.Response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff", response.url
    assert response.headers["x-frame-options"] == "DENY", response.url
    assert response.headers["referrer-policy"] == "no-referrer", response.url
    assert policy(response)["frame-ancestors"] == "'none'", response.url


@pytest.fixture
async def console(stack):
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as http:
        assert (await ConsoleClient(http).login(stack.admin_token)).status_code == 303
        yield http


@pytest.mark.parametrize("path", CONSOLE_PAGES)
async def test_console_pages_run_no_script_at_all(console, path):
    response = await console.get(path)
    assert response.status_code == 200 and "text/html" in response.headers["content-type"]
    assert_protected(response)
    csp = policy(response)
    assert csp["default-src"] == "'none'" and "script-src" not in csp  # no script: none may run
    assert csp["form-action"] == "'self'" and csp["base-uri"] == "'none'"
    assert "<script" not in response.text


async def test_the_console_dispatch_page_runs_only_its_own_file_and_fetches_only_the_gateway(console):
    response = await console.get("/admin/ui/dispatch")
    assert response.status_code == 200 and "text/html" in response.headers["content-type"]
    assert_protected(response)
    csp = policy(response)
    assert csp["default-src"] == "'none'" and csp["script-src"] == csp["connect-src"] == "'self'"
    assert response.headers["content-security-policy"] == CONSOLE_LIVE and "'unsafe-inline'" not in CONSOLE_LIVE
    assert INLINE_SCRIPT.findall(response.text) == [] and INLINE_HANDLER.findall(response.text) == []


@pytest.mark.parametrize("path", SCRIPTED_PAGES)
async def test_scripted_pages_run_only_the_gateways_own_script_files(stack, path):
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as http:
        response = await http.get(path)
    assert response.status_code == 200 and "text/html" in response.headers["content-type"]
    assert_protected(response)
    csp = policy(response)
    assert csp["default-src"] == "'none'" and csp["script-src"] == "'self'"
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]
    assert INLINE_SCRIPT.findall(response.text) == []  # every script is a file the policy admits
    assert INLINE_HANDLER.findall(response.text) == []


@pytest.mark.parametrize("path", OTHER_ROUTES)
async def test_assets_operational_and_unknown_routes_are_protected(stack, path):
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as http:
        response = await http.get(path)
    assert_protected(response)


@pytest.mark.parametrize(("method", "path"), API_ROUTES)
async def test_api_json_answers_are_protected(stack, method, path):
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as http:
        response = await http.request(method, path, json={})
    assert response.status_code in (401, 403) and response.headers["content-type"].startswith("application/json")
    assert_protected(response)
    assert policy(response)["default-src"] == "'none'"


def test_each_family_of_page_gets_its_policy():
    assert content_security_policy("/task/tsk-1") == OWN_SCRIPT_FILES
    assert content_security_policy("/tasks") == content_security_policy("/test-worker") == OWN_SCRIPT_FILES
    for path in ("/admin/ui/users", "/admin/login", "/tasks/extra", "/api/task/list", "/task-pages/task.js", "/"):
        assert content_security_policy(path) == NO_SCRIPT, path
    assert "'unsafe-inline'" not in OWN_SCRIPT_FILES + NO_SCRIPT
    # A new secret's page (the answer to its POST) runs its Copy button's file; the list does not.
    for path in ("/admin/ui/users/usr_1/api-keys", "/admin/ui/worker-tokens"):
        assert content_security_policy(path, "POST") == content_security_policy("/admin/ui/overview"), path
        assert content_security_policy(path, "GET") == NO_SCRIPT, path


async def test_the_middleware_keeps_a_policy_a_route_chose_and_fills_in_the_rest():
    async def app(scope, receive, send):
        headers = [(b"content-security-policy", b"sandbox")] if scope["path"] == "/own" else []
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"ok"})

    transport = httpx.ASGITransport(app=SecurityHeadersMiddleware(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        own, other = await http.get("/own"), await http.get("/tasks")
    assert own.headers.get_list("content-security-policy") == ["sandbox"]
    assert own.headers["x-frame-options"] == "DENY" and own.headers["x-content-type-options"] == "nosniff"
    assert other.headers["content-security-policy"] == OWN_SCRIPT_FILES and other.text == "ok"
