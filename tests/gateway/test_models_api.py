"""`GET /api/models`: the models a caller may use, with the call that uses each and its price for
the caller's group, against the session stack."""
from __future__ import annotations

import secrets

import httpx

from tests.harness.api import AdminApi


async def _models(stack, key: str) -> dict:
    async with httpx.AsyncClient(base_url=stack.gateway_url, headers={"Authorization": f"Bearer {key}"},
                                 timeout=30) as client:
        response = await client.get("/api/models")
    assert response.status_code == 200, response.text
    return response.json()


async def _channel(admin: AdminApi, stack, kind: str, models: list[str], billing: dict, **fields) -> dict:
    return await admin.create_channel(name=f"{kind}-{secrets.token_hex(4)}", kind=kind, base_url=stack.upstream_url,
                                      api_key="k", models=models, billing=billing, **fields)


async def test_models_list_what_the_caller_may_use_priced_for_its_group(stack, admin: AdminApi):
    tag = secrets.token_hex(3)
    video, chat, hidden, group = f"video-{tag}", f"chat-{tag}", f"hidden-{tag}", f"g-{tag}"
    await _channel(admin, stack, "custompass_async", [f"{video}/submit"], {"mode": "per_call", "price": 10})
    await _channel(admin, stack, "custompass_sync", [chat], {"mode": "per_usage", "price": 3, "precharge": 5})
    await _channel(admin, stack, "custompass_async", [hidden], {"mode": "per_call", "price": 1})
    await _channel(admin, stack, "worker", ["default"], {"mode": "per_call", "price": 7}, group=group)
    assert (await admin.http.post("/admin/groups", json={"name": group, "price_ratio": "0.8"})).status_code == 201
    user_id = await admin.create_user(group=group, models=[video, chat, hidden, "default"])
    key = (await admin.http.post(f"/admin/users/{user_id}/api-keys",
                                 json={"name": "k", "models": [f"{video}/submit", chat, "default"]})).json()["key"]
    listed = await _models(stack, key)
    assert listed["object"] == "list" and listed["group"] == group
    by_id = {(m["id"], m["mode"], m["group"]): m for m in listed["data"]}
    assert (hidden, "async", None) not in by_id  # the key's allow-list leaves it out
    assert {m["id"] for m in listed["data"]} == {video, chat, "default"}
    assert by_id[(video, "async", None)].items() >= {
        "endpoint": f"POST /pass/{video}/submit", "price_ratio": "0.8", "price": "8", "hold": 8}.items()
    assert by_id[(video, "async", None)]["billing"]["mode"] == "per_call"
    assert by_id[(chat, "sync", None)].items() >= {"endpoint": f"POST /pass/{chat}", "price": "2.4", "hold": 4}.items()
    worker = by_id[("default", "dispatch", group)]
    assert worker["endpoint"] == "POST /api/openai" and worker["price"] == "5.6" and worker["hold"] == 6


async def test_models_without_allow_lists_include_every_enabled_channel_but_no_disabled_one(stack, admin: AdminApi):
    tag = secrets.token_hex(3)
    await _channel(admin, stack, "replicate", [f"rep-{tag}"], {"mode": "free"})
    off = await _channel(admin, stack, "runninghub", [f"off-{tag}"], {"mode": "per_call", "price": 2})
    gone = await _channel(admin, stack, "custompass_sync", [f"gone-{tag}"], {"mode": "per_call", "price": 2})
    assert (await admin.http.put(f"/admin/channels/{off['id']}", json={"enabled": False})).status_code == 200
    assert (await admin.http.delete(f"/admin/channels/{gone['id']}")).status_code == 204
    _, key = await admin.user_with_key()
    listed = {m["id"]: m for m in (await _models(stack, key))["data"]}
    assert listed[f"rep-{tag}"].items() >= {"mode": "async", "price": "0", "hold": 0, "price_ratio": "1"}.items()
    assert f"off-{tag}" not in listed and f"gone-{tag}" not in listed


async def test_models_need_an_api_key(stack):
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as anonymous:
        response = await anonymous.get("/api/models")
    assert response.status_code == 401 and response.json()["code"] == "unauthorized"
