"""The console's task types page: types are created and edited there through the admin API's own
code (same checks, same errors), their schemas shown escaped, and only with the console session's
CSRF token."""
from __future__ import annotations

import json
import secrets

from tests.console.conftest import redirect_error

PAGE = "/admin/ui/task-types"
SCHEMA = {"type": "object", "properties": {"strength": {"type": "number", "description": "<b>how hard</b>"}},
          "required": ["strength"]}


def _name() -> str:
    return f"aa_{secrets.token_hex(3)}"  # sorts before other tests' types: on the first page


async def test_a_task_type_created_and_edited_in_the_console_is_what_the_api_answers(console, admin):
    name = _name()
    created = await console.post(PAGE, {"type": name, "model": "clean/submit", "params_schema": json.dumps(SCHEMA)})
    assert created.status_code == 303 and "notice=Saved" in created.headers["location"]
    assert (await admin.http.get(f"/admin/task-types/{name}")).json() == {
        "type": name, "model": "clean/submit", "params_schema": SCHEMA}
    page = (await console.http.get(PAGE)).text
    assert f'data-task-type="{name}"' in page
    assert "&lt;b&gt;how hard&lt;/b&gt;" in page and "<b>how hard</b>" not in page

    edited = await console.post(f"{PAGE}/{name}", {"model": "clean-v2", "params_schema": '{"type": "object"}'})
    assert edited.status_code == 303 and "notice=Saved" in edited.headers["location"]
    assert (await admin.http.get(f"/admin/task-types/{name}")).json() == {
        "type": name, "model": "clean-v2", "params_schema": {"type": "object"}}

    assert (await console.post(f"{PAGE}/{name}", {"model": "clean-v2", "params_schema": "  "})).status_code == 303
    assert (await admin.http.get(f"/admin/task-types/{name}")).json()["params_schema"] is None  # any params


async def test_a_blank_schema_creates_a_type_that_accepts_any_params(console, admin):
    name = _name()
    assert (await console.post(PAGE, {"type": name, "model": "clean", "params_schema": ""})).status_code == 303
    assert (await admin.http.get(f"/admin/task-types/{name}")).json() == {
        "type": name, "model": "clean", "params_schema": None}


async def test_bad_task_type_input_comes_back_to_the_form_as_a_message(console, admin):
    name = _name()
    assert (await console.post(PAGE, {"type": name, "model": "clean"})).status_code == 303
    assert "exists already" in redirect_error(await console.post(PAGE, {"type": name, "model": "other"}))
    assert "not JSON" in redirect_error(await console.post(PAGE, {"type": _name(), "model": "m", "params_schema": "{type:"}))
    assert "not a JSON Schema" in redirect_error(await console.post(
        PAGE, {"type": _name(), "model": "m", "params_schema": '{"type": "no-such-type"}'}))
    assert "params_schema" in redirect_error(await console.post(PAGE, {"type": _name(), "model": "m", "params_schema": "[1]"}))
    assert "nested deeper" in redirect_error(await console.post(
        PAGE, {"type": _name(), "model": "m", "params_schema": '{"a":' * 5000 + "1" + "}" * 5000}))
    assert "type" in redirect_error(await console.post(PAGE, {"type": "Bad Name", "model": "m"}))
    assert "not JSON" in redirect_error(await console.post(f"{PAGE}/{name}", {"model": "m", "params_schema": "nope"}))
    assert "not found" in redirect_error(await console.post(f"{PAGE}/aa_nobody", {"model": "m"}))
    assert (await admin.http.get(f"/admin/task-types/{name}")).json() == {
        "type": name, "model": "clean", "params_schema": None}


async def test_task_type_forms_need_the_session_and_its_csrf_token(console, anonymous, admin):
    name = _name()
    assert (await console.post(PAGE, {"type": name, "model": "m"}, csrf="0" * 32)).status_code == 403
    assert (await admin.http.get(f"/admin/task-types/{name}")).status_code == 404
    assert (await console.post(f"{PAGE}/{name}", {"model": "m"}, csrf="0" * 32)).status_code == 403
    to_login = await anonymous.http.get(PAGE)
    assert to_login.status_code == 303 and to_login.headers["location"].startswith("/admin/login")
    page = (await console.http.get(f"{PAGE}?lang=zh")).text
    assert "新建任务类型" in page and "参数 JSON Schema" in page
