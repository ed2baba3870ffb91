"""Admin API of task types, and the seed's two products as shipped examples."""
from __future__ import annotations

import json
import secrets

import pytest

from services.gateway.errors import ApiError
from services.gateway.task_api.examples import EXAMPLE_TASK_TYPES
from services.gateway.task_api.task_types import check_params
from tests.task_api.test_task_api import IMAGE, refused


async def test_admin_creates_reads_lists_and_updates_task_types(task_admin, task_user):
    api = task_admin.http
    name = f"t_{secrets.token_hex(4)}"
    schema = {"type": "object", "properties": {"$ref_like": {"type": "string"}}, "$comment": "dollar keys"}
    created = await api.post("/admin/task-types", json={"type": name, "model": "some-model", "params_schema": schema})
    assert created.status_code == 201, created.text
    assert created.json() == {"type": name, "model": "some-model", "params_schema": schema}
    assert (await api.post("/admin/task-types", json={"type": name, "model": "m"})).json()["code"] == \
        "task_type_exists"
    assert (await api.get(f"/admin/task-types/{name}")).json()["params_schema"] == schema
    assert name in [t["type"] for t in (await api.get("/admin/task-types")).json()]
    updated = await api.put(f"/admin/task-types/{name}", json={"model": "other-model"})
    assert updated.json() == {"type": name, "model": "other-model", "params_schema": schema}
    cleared = await api.put(f"/admin/task-types/{name}", json={"params_schema": None})
    assert cleared.json()["params_schema"] is None and cleared.json()["model"] == "other-model"
    assert (await api.get("/admin/task-types/t_missing")).status_code == 404
    assert (await api.put("/admin/task-types/t_missing", json={"model": "m"})).status_code == 404
    for bad in ({"type": "Bad-Name", "model": "m"}, {"type": "ok_name", "model": ""},
                {"type": "ok_name2", "model": "m", "params_schema": {"type": "no-such-type"}}):
        assert (await api.post("/admin/task-types", json=bad)).status_code in (400, 422), bad
    user = await task_user()
    assert (await user.http.get("/admin/task-types")).status_code == 401


async def test_the_seed_examples_are_creatable_and_enforce_their_parameters(task_admin, task_user, task_stack):
    for example in EXAMPLE_TASK_TYPES:
        created = await task_admin.http.post("/admin/task-types", json=example)
        assert created.status_code in (201, 409), created.text
    channel = {"kind": "custompass_async", "base_url": task_stack.upstream_url, "api_key": "k",
               "billing": {"mode": "per_call", "price": 1}, "poll_interval_s": 0.2}
    await task_admin.create_channel(name="examples", models=["image-clean/submit", "model-pose12/submit"], **channel)
    user = await task_user(quota=100)
    for type_, params in (("basic_clean", {"template": "white_bg"}),
                          ("model_pose12", {"scene": "studio", "category": "dress", "productDescription": "优雅连衣裙"})):
        created = await user.create(type_, IMAGE, params)
        assert created.status_code == 200, created.text
    for type_, params in (("basic_clean", {"template": "sepia"}), ("model_pose12", {"scene": "beach"}),
                          ("model_pose12", {"category": "hat"}), ("basic_clean", {"unknown": 1})):
        refused(await user.create(type_, IMAGE, params), 400, 4001)


def test_a_schema_whose_ref_leads_nowhere_is_the_operators_fault_not_the_callers():
    task_type = {"_id": "t", "params_schema": json.dumps(
        {"type": "object", "properties": {"a": {"$ref": "https://schemas.example/a.json"}}})}
    with pytest.raises(ApiError) as refused_:
        check_params(task_type, {"a": 1})
    assert (refused_.value.status, refused_.value.code) == (503, "task_type_misconfigured")
    assert check_params(task_type, {"b": 1}) == '{"b":1}'
