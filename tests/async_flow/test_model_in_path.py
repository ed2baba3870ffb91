"""The model named in a `/pass/{model}/...` path: a task answers only under its own model (either
spelling), and a sync call to an async-only model names the call that serves it."""
from __future__ import annotations

import secrets


async def test_a_task_fetched_or_cancelled_under_another_model_answers_like_a_missing_one(
        async_channel, make_client):
    model, _ = await async_channel()
    other, _ = await async_channel()
    client = await make_client(quota=100)
    submitted = await client.submit(model, {"prompt": "a cat", "mock": {"polls_before_done": 50}})
    assert submitted.status_code == 200, submitted.text
    task_id = submitted.json()["task_id"]
    missing = await client.http.get(f"/pass/{model}/task/task_{secrets.token_hex(8)}/fetch")
    for path in (f"/pass/{other}/task/{task_id}/fetch", f"/pass/{model}-x/task/{task_id}/fetch"):
        wrong = await client.http.get(path)  # main: 200 with the task
        assert wrong.status_code == 404, wrong.text
        assert wrong.json()["code"] == missing.json()["code"] == "task_not_found"
    cancelled = await client.http.post(f"/pass/{other}/task/{task_id}/cancel")
    assert cancelled.status_code == 404 and cancelled.json()["code"] == "task_not_found", cancelled.text
    for spelling in (model, f"{model}/submit"):
        fetched = await client.http.get(f"/pass/{spelling}/task/{task_id}/fetch")
        assert fetched.status_code == 200 and fetched.json()["task_id"] == task_id, fetched.text


async def test_a_sync_call_to_an_async_only_model_names_its_submit_route(async_channel, make_client, admin):
    model, _ = await async_channel()
    client = await make_client(quota=100)
    response = await client.http.post(f"/pass/{model}", json={"prompt": "a cat"})
    assert response.status_code == 404, response.text  # main: "model ... is not served here"
    body = response.json()
    assert body["code"] == "model_is_async" and f"POST /pass/{model}/submit" in body["message"]
    assert (await admin.wallet(client.user_id))["held"] == 0
    unknown = await client.http.post(f"/pass/nothing-{secrets.token_hex(3)}", json={})
    assert unknown.status_code == 404 and unknown.json()["code"] == "model_not_found"
