"""A caller's task list filters by the CustomPass words, derived from shared/status.py, or by the
internal names; an unknown word is a 400. Read through shared/task_reads.py, like every task list."""
from __future__ import annotations

from tests.async_flow.test_async_flow import settled


async def test_a_callers_task_list_filters_by_pass_word_or_internal_name(async_channel, make_client, mongo_db):
    model, _ = await async_channel()
    client = await make_client(quota=100)
    task_id = (await client.submit(model, {})).json()["task_id"]
    await settled(client, model, task_id, mongo_db)

    async def listed(**params) -> list[str]:
        response = await client.http.get("/api/tasks", params=params)
        assert response.status_code == 200, response.text
        return [row["task_id"] for row in response.json()["data"]]
    assert await listed(status="completed") == [task_id]
    assert await listed(status="SUCCESS") == await listed(status="success") == [task_id]
    assert await listed(status="processing") == await listed(status="pendding") == await listed(status="FAILURE") == []
    assert await listed(model=model) == [task_id] and await listed(model="other") == []
    assert await listed(status="") == [task_id]  # empty: no filter
    refused = await client.http.get("/api/tasks", params={"status": "done"})
    assert refused.status_code == 400 and refused.json()["code"] == "invalid_status"
    paged = (await client.http.get("/api/tasks", params={"limit": 1, "offset": 1})).json()
    assert (paged["data"], paged["total"], paged["limit"], paged["offset"]) == ([], 1, 1, 1)
