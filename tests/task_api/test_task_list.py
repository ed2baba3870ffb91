"""`GET /api/task/list`: the caller's typed tasks, filtered by a Task API word (the statuses
shared/status.py says read as it) and by type, paged; a word the dialect lacks is a 400."""
from __future__ import annotations

from tests.harness.api import eventually
from tests.task_api.test_task_api import IMAGE, refused, task_view


async def test_the_list_filters_by_status_word_and_type_and_pages(task_type, task_user):
    name, other = await task_type(scenario={"polls_before_done": 1}), await task_type()
    user = await task_user(quota=100)
    task_id = (await user.create(name, IMAGE)).json()["data"]["taskId"]

    async def succeeded():
        return (await task_view(user.http, task_id))["status"] == "success"
    await eventually(succeeded, interval=0.05)

    async def listed(**params) -> list[str]:
        response = await user.http.get("/api/task/list", params=params)
        assert response.status_code == 200, response.text
        return [task["id"] for task in response.json()["data"]["tasks"]]
    assert await listed() == await listed(status="success") == await listed(type=name) == [task_id]
    assert await listed(status="pending") == await listed(status="processing") == await listed(status="failed") == []
    assert await listed(type=other) == []
    paged = (await user.http.get("/api/task/list", params={"limit": 1, "offset": 1})).json()["data"]
    assert (paged["tasks"], paged["total"], paged["limit"], paged["offset"]) == ([], 1, 1, 1)
    refused(await user.http.get("/api/task/list", params={"status": "completed"}), 400, 4001)
