"""`Idempotency-Key` on an async `POST /api/openai` (`services/gateway/dispatch_submit.py`): the
same key and request answer the first request's task, a different request under the key is
refused, and either way one task and one hold exist (the SDK's retries rely on it)."""
from __future__ import annotations


async def test_an_async_dispatch_replayed_with_its_idempotency_key_is_the_first_task(ready_worker, make_client,
                                                                                    mongo_db):
    group, _ = await ready_worker()
    client = await make_client(quota=100)
    body, key = {"data": {"n": 1}, "group": group, "async": True}, {"Idempotency-Key": "dispatch-once"}
    first = await client.http.post("/api/openai", json=body, headers=key)
    replay = await client.http.post("/api/openai", json=body, headers=key)
    assert first.status_code == replay.status_code == 200, (first.text, replay.text)
    assert replay.json()["taskId"] == first.json()["taskId"]
    other = await client.http.post("/api/openai", json={**body, "data": {"n": 2}}, headers=key)
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused", other.text
    assert await mongo_db.tasks.count_documents({"user_id": client.user_id}) == 1
    assert await mongo_db.holds.count_documents({"user_id": client.user_id}) == 1
