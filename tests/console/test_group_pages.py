"""The console's groups page: groups are created and edited there through the admin API's own
code (same checks, same errors), shown escaped, and only with the console session's CSRF token."""
from __future__ import annotations

import secrets
from urllib.parse import unquote_plus


def _name() -> str:
    return f"0g-{secrets.token_hex(3)}"  # sorts before other tests' groups: on the first page


async def test_a_group_created_and_edited_in_the_console_is_what_the_api_answers(console, admin):
    name = _name()
    created = await console.post("/admin/ui/groups", {
        "name": name, "price_ratio": "0.8", "description": "<b>vip</b>", "requests_per_minute": "30",
        "max_in_flight": "", "quota_limit": "500", "models": "video/submit, chat"})
    assert created.status_code == 303 and "notice=Saved" in created.headers["location"]
    assert (await admin.http.get(f"/admin/groups/{name}")).json() == {
        "name": name, "price_ratio": 0.8, "description": "<b>vip</b>",
        "key_defaults": {"requests_per_minute": 30, "quota_limit": 500, "models": ["video/submit", "chat"]}}
    page = (await console.http.get("/admin/ui/groups")).text
    assert f'data-group="{name}"' in page and "&lt;b&gt;vip&lt;/b&gt;" in page and "<b>vip</b>" not in page

    edited = await console.post(f"/admin/ui/groups/{name}", {
        "price_ratio": "1.5", "description": "", "requests_per_minute": "", "max_in_flight": "4",
        "quota_limit": "", "models": ""})
    assert edited.status_code == 303
    assert (await admin.http.get(f"/admin/groups/{name}")).json() == {
        "name": name, "price_ratio": 1.5, "description": None, "key_defaults": {"max_in_flight": 4}}


async def test_bad_group_input_comes_back_to_the_form_as_the_apis_message(console, admin):
    name = _name()
    assert (await console.post("/admin/ui/groups", {"name": name, "price_ratio": "1"})).status_code == 303
    for fields in ({"name": name, "price_ratio": "1"},  # exists already
                   {"name": _name(), "price_ratio": "0"},  # not above 0
                   {"name": "$bad", "price_ratio": "1"},
                   {"name": _name(), "price_ratio": "1", "max_in_flight": "many"}):
        answer = await console.post("/admin/ui/groups", fields)
        assert answer.status_code == 303, answer.text
        assert "error=" in answer.headers["location"], (fields, answer.headers["location"])
    assert "exists already" in unquote_plus((await console.post(
        "/admin/ui/groups", {"name": name, "price_ratio": "1"})).headers["location"])
    missing = await console.post("/admin/ui/groups/0g-nobody", {"price_ratio": "1"})
    assert "not found" in unquote_plus(missing.headers["location"])
    assert (await admin.http.get(f"/admin/groups/{name}")).json()["price_ratio"] == 1.0


async def test_group_forms_need_the_session_and_its_csrf_token(console, anonymous):
    name = _name()
    assert (await console.post("/admin/ui/groups", {"name": name, "price_ratio": "1"}, csrf="0" * 32)).status_code == 403
    assert (await anonymous.http.get("/admin/ui/groups")).status_code == 303  # to the login
    page = (await console.http.get("/admin/ui/groups?lang=zh")).text
    assert "新建分组" in page and "价格倍率" in page
