"""The console's user pages: the list shows each user's balance, a new user may get an initial
quota (credited once), and a key's limits are set and edited there through the admin API's own
code (same checks, same errors), only with the console session's CSRF token."""
from __future__ import annotations

import re
import secrets

from services.gateway.security_headers import CONSOLE_CHARTS
from tests.console.conftest import redirect_error


def _name() -> str:
    return f"console-user-{secrets.token_hex(4)}"


def _row(page: str, attribute: str, value: str) -> str:
    match = re.search(rf'<tr {attribute}="{re.escape(value)}">(.*?)</tr>', page, re.S)
    assert match, f"no row {attribute}={value}"
    return match.group(1)


async def test_the_users_list_shows_each_users_balance(console, admin):
    name = _name()
    topped_up, empty = await admin.create_user(name=name), await admin.create_user(name=name)
    answer = await admin.http.post(f"/admin/users/{topped_up}/topup", json={"amount": 75, "request_id": "list"})
    assert answer.status_code == 200, answer.text
    page = (await console.http.get("/admin/ui/users", params={"q": name})).text
    assert '<td class="balance">75</td>' in _row(page, "data-user", topped_up)
    assert '<td class="balance">0</td>' in _row(page, "data-user", empty)
    assert "余额" in (await console.http.get("/admin/ui/users", params={"q": name, "lang": "zh"})).text


async def test_an_initial_quota_is_credited_once(console, admin):
    created = await console.post("/admin/ui/users", {"name": _name(), "quota": "250"})
    assert created.status_code == 303, created.text
    user_id = created.headers["location"].rsplit("/", 1)[-1]
    assert (await admin.wallet(user_id))["credited"] == 250
    # The credit's id comes from the user's id: delivering it again credits nothing more.
    again = await admin.http.post(f"/admin/users/{user_id}/topup", json={"amount": 250, "request_id": "initial"})
    assert again.status_code == 200, again.text
    assert (await admin.wallet(user_id))["credited"] == 250
    page = (await console.http.get(f"/admin/ui/users/{user_id}")).text
    assert page.split('id="ledger"', 1)[1].count("<td>topup</td>") == 1

    plain = await console.post("/admin/ui/users", {"name": _name(), "quota": ""})
    assert (await admin.wallet(plain.headers["location"].rsplit("/", 1)[-1]))["credited"] == 0


async def test_a_bad_initial_quota_comes_back_as_an_error_and_creates_no_user(console):
    name = _name()
    for quota in ("-5", "abc", "1.5", str(10**16)):
        assert "quota" in redirect_error(await console.post("/admin/ui/users", {"name": name, "quota": quota}))
    page = (await console.http.get("/admin/ui/users", params={"q": name})).text
    assert "data-user=" not in page


async def test_key_limits_set_and_edited_in_the_console_are_what_the_api_answers(console, admin):
    user_id = await admin.create_user()
    page = f"/admin/ui/users/{user_id}"
    created = await console.post(f"{page}/api-keys", {
        "name": "<b>ci</b>", "requests_per_minute": "30", "max_in_flight": "", "quota_limit": "0",
        "models": "video/submit, chat", "expires_at": "2030-01-02T03:04:05"}, await console.csrf(page))
    assert created.status_code == 200 and 'id="secret">cp-' in created.text
    assert 'src="/admin/static/copy_secret.js"' in created.text and 'id="copy-secret"' in created.text
    assert created.headers["content-security-policy"] == CONSOLE_CHARTS  # the gateway's own script files only
    [key] = (await admin.http.get(f"/admin/users/{user_id}/api-keys")).json()
    assert {k: key[k] for k in ("name", "enabled", "requests_per_minute", "max_in_flight", "quota_limit", "models",
                                "expires_at")} == {
        "name": "<b>ci</b>", "enabled": True, "requests_per_minute": 30, "max_in_flight": None, "quota_limit": 0,
        "models": ["video/submit", "chat"], "expires_at": "2030-01-02T03:04:05Z"}
    row = _row((await console.http.get(page)).text, "data-key", key["id"])
    assert "&lt;b&gt;ci&lt;/b&gt;" in row and "<b>ci</b>" not in row
    assert 'name="quota_limit" value="0"' in row and 'value="2030-01-02T03:04:05"' in row

    edited = await console.post(f"{page}/api-keys/{key['id']}", {
        "requests_per_minute": "", "max_in_flight": "3", "quota_limit": "500", "models": "", "expires_at": "",
        "status": "disabled"}, await console.csrf(page))
    assert edited.status_code == 303 and "notice=Saved" in edited.headers["location"]
    answer = (await admin.http.get(f"/admin/users/{user_id}/api-keys/{key['id']}")).json()
    assert {k: answer[k] for k in ("enabled", "requests_per_minute", "max_in_flight", "quota_limit", "models",
                                   "expires_at")} == {
        "enabled": False, "requests_per_minute": None, "max_in_flight": 3, "quota_limit": 500, "models": None,
        "expires_at": None}
    row = _row((await console.http.get(page)).text, "data-key", key["id"])
    assert 'value="disabled" selected' in row and 'name="max_in_flight" value="3"' in row

    enabled = await console.post(f"{page}/api-keys/{key['id']}", {"max_in_flight": "3", "status": "active"},
                                 await console.csrf(page))
    assert enabled.status_code == 303
    assert (await admin.http.get(f"/admin/users/{user_id}/api-keys/{key['id']}")).json()["enabled"] is True


async def test_bad_key_limits_come_back_as_the_apis_messages(console, admin):
    user_id = await admin.create_user()
    page = f"/admin/ui/users/{user_id}"
    await console.post(f"{page}/api-keys", {"name": "k", "max_in_flight": "2"})
    [key] = (await admin.http.get(f"/admin/users/{user_id}/api-keys")).json()
    edit = f"{page}/api-keys/{key['id']}"
    for fields, message in (({"requests_per_minute": "0", "status": "active"}, "requests_per_minute"),
                            ({"max_in_flight": "many", "status": "active"}, "max_in_flight"),
                            ({"quota_limit": "-1", "status": "active"}, "quota_limit"),
                            ({"models": "$x", "status": "active"}, "models"),
                            ({"expires_at": "soon", "status": "active"}, "expires_at"),
                            ({"max_in_flight": "2"}, "enabled cannot be null")):
        assert message in redirect_error(await console.post(edit, fields)), fields
    assert "not found" in redirect_error(await console.post(f"{page}/api-keys/key_nobody", {"status": "active"}))
    assert "requests_per_minute" in redirect_error(await console.post(f"{page}/api-keys", {"requests_per_minute": "x"}))
    assert (await admin.http.get(f"/admin/users/{user_id}/api-keys/{key['id']}")).json()["max_in_flight"] == 2
    assert len((await admin.http.get(f"/admin/users/{user_id}/api-keys")).json()) == 1


async def test_user_and_key_forms_need_the_sessions_csrf_token(console, admin):
    user_id = await admin.create_user()
    page = f"/admin/ui/users/{user_id}"
    wrong = "0" * 32
    assert (await console.post("/admin/ui/users", {"name": _name(), "quota": "10"}, wrong)).status_code == 403
    assert (await console.post(f"{page}/api-keys", {"name": "k"}, wrong)).status_code == 403
    await console.post(f"{page}/api-keys", {"name": "k"})
    [key] = (await admin.http.get(f"/admin/users/{user_id}/api-keys")).json()
    refused = await console.post(f"{page}/api-keys/{key['id']}", {"status": "disabled"}, wrong)
    assert refused.status_code == 403
    assert (await admin.http.get(f"/admin/users/{user_id}/api-keys")).json()[0]["enabled"] is True
