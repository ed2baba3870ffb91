"""The console refuses whoever has no session or no valid CSRF token, never renders stored text
as markup, and keeps user API keys out."""
from __future__ import annotations

import secrets

import httpx
import pytest

from services.gateway.console.session import COOKIE
from tests.harness.api import AdminApi

PAGES = ["/admin/ui/channels", "/admin/ui/channels/new", "/admin/ui/users", "/admin/ui/tasks", "/admin/ui/logs",
         "/admin/ui/logs.csv", "/admin/ui/tasks/task_any/receipt"]
FORMS = ["/admin/ui/users", "/admin/ui/channels/new", "/admin/logout"]


@pytest.mark.parametrize("page", PAGES)
async def test_pages_without_a_session_send_to_the_login(anonymous, page):
    response = await anonymous.http.get(page)
    assert response.status_code == 303 and response.headers["location"].startswith("/admin/login")


async def test_user_api_keys_do_not_open_the_console(anonymous, admin):
    _, key = await admin.user_with_key(quota=5)
    response = await anonymous.http.get("/admin/ui/users", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 303
    refused = await anonymous.http.post("/admin/login", data={"token": key})
    assert refused.status_code == 401 and "cp_console" not in refused.headers.get("set-cookie", "")


@pytest.mark.parametrize("form", FORMS)
async def test_form_posts_without_a_session_are_403(anonymous, form):
    response = await anonymous.http.post(form, data={"csrf": "0" * 64, "name": "x"})
    assert response.status_code == 403 and response.json()["code"] == "console_login_required"


@pytest.mark.parametrize("csrf", ["", "0" * 64, None])
async def test_form_posts_with_a_bad_csrf_token_are_403_and_change_nothing(console, mongo_db, csrf):
    name = f"csrf-{secrets.token_hex(4)}"
    fields = {"name": name} if csrf is None else {"name": name, "csrf": csrf}
    response = await console.http.post("/admin/ui/users", data=fields)
    assert response.status_code == 403 and response.json()["code"] == "csrf_failed"
    assert await mongo_db.users.count_documents({"name": name}) == 0


async def test_session_cookie_is_http_only_and_same_site_strict(anonymous, stack):
    response = await anonymous.login(stack.admin_token)
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/admin" in cookie


async def test_wrong_token_and_forged_cookie_are_refused(anonymous, stack):
    assert (await anonymous.login("not-the-token")).status_code == 401
    anonymous.http.cookies.set("cp_console", "eyJzaWQiOiAieCIsICJleHAiOiA5OTk5OTk5OTk5fQ==.forged")
    assert (await anonymous.http.get("/admin/ui/users")).status_code == 303


async def test_login_never_redirects_off_the_console(anonymous, stack):
    response = await anonymous.http.post("/admin/login", data={"token": stack.admin_token,
                                                               "next": "https://evil.example/"})
    assert response.headers["location"] == "/admin/ui/overview"


async def test_logout_ends_the_session(console):
    response = await console.post("/admin/logout", {})
    assert response.status_code == 303
    assert (await console.http.get("/admin/ui/users")).status_code == 303


async def test_logout_revokes_the_session_so_a_replayed_cookie_opens_nothing(console, stack):
    kept = console.http.cookies.get(COOKIE)
    csrf = await console.csrf()
    assert (await console.post("/admin/logout", {}, csrf)).status_code == 303
    async with httpx.AsyncClient(base_url=stack.gateway_url, cookies={COOKIE: kept}, timeout=30) as replayed:
        page = await replayed.get("/admin/ui/users")
        assert page.status_code == 303 and page.headers["location"].startswith("/admin/login")
        form = await replayed.post("/admin/ui/users", data={"csrf": csrf, "name": "after logout"})
        assert form.status_code == 403


async def test_stored_text_renders_as_text(console, admin: AdminApi, stack):
    await admin.create_channel(name="<script>alert(1)</script>", kind="custompass_async", base_url=stack.upstream_url,
                               models=[f"xss-{secrets.token_hex(3)}"], billing={"mode": "free"})
    page = (await console.http.get("/admin/ui/channels", params={"limit": 500})).text
    pages = [page]
    while 'id="next-page"' in pages[-1]:  # the channel may be on a later page
        offset = len(pages) * 50
        pages.append((await console.http.get("/admin/ui/channels", params={"offset": offset})).text)
    html = "".join(pages)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)</script>" not in html


async def test_a_double_submitted_top_up_credits_once(console, admin):
    user_id = await admin.create_user(quota=0)
    page = f"/admin/ui/users/{user_id}"
    csrf = await console.csrf(page)
    form = {"amount": "40", "request_id": "console-double-click"}
    for _ in range(2):
        assert (await console.post(f"{page}/topup", form, csrf)).status_code == 303
    assert (await admin.wallet(user_id))["credited"] == 40


async def test_forms_validate_as_the_api_does(console):
    response = await console.post("/admin/ui/channels/new", {"name": "bad", "kind": "custompass_async",
                                                            "models": "m", "billing_mode": "per_call",
                                                            "billing_price": "-5", "base_url": "not a url"})
    assert response.status_code == 422
    assert "billing.price" in response.text and "base_url" in response.text


async def test_settings_in_force_name_their_source(console, admin, stack):
    channel = await admin.create_channel(name="src", kind="custompass_async", base_url=stack.upstream_url,
                                         models=[f"src-{secrets.token_hex(3)}"], poll_interval_s=7,
                                         billing={"mode": "free"})
    page = (await console.http.get(f"/admin/ui/channels/{channel['id']}")).text
    assert "<td>Poll interval (s) <code>poll_interval_s</code></td><td>7.0</td><td>channel</td>" in page
    assert "<td>Batch size <code>batch_size</code></td><td>50</td><td>default (CUSTOM_PASS_BATCH_SIZE)</td>" in page
