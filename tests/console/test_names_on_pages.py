"""Console lists show the names behind ids (services/gateway/console/names.py): the task list, the
consumption logs with their totals and the task page name the user, the channel and the key,
escaped, linked to their pages, with the id in the tooltip."""
from __future__ import annotations

import secrets

import httpx

from tests.harness.api import eventually


async def test_tasks_logs_and_the_task_page_name_who_and_what(console, admin, stack):
    model = f"names-{secrets.token_hex(3)}"
    channel = await admin.create_channel(name=f"<b>chan</b> {model}", kind="custompass_async", base_url=stack.upstream_url,
                                         api_key="k", models=[f"{model}/submit"], billing={"mode": "per_call", "price": 1},
                                         poll_interval_s=0.2)
    user_id = await admin.create_user(quota=10, name=f"<i>ada</i> {model}")
    created = await admin.http.post(f"/admin/users/{user_id}/api-keys", json={"name": f"<u>laptop</u> {model}"})
    key, key_id = created.json()["key"], created.json()["id"]
    async with httpx.AsyncClient(base_url=stack.gateway_url, headers={"Authorization": f"Bearer {key}"},
                                 timeout=30) as client:
        submitted = await client.post(f"/pass/{model}/submit", json={"prompt": "p", "mock": {"polls_before_done": 1}})
    assert submitted.status_code == 200, submitted.text
    task_id = submitted.json()["task_id"]
    user = f'<a href="/admin/ui/users/{user_id}" title="{user_id}">&lt;i&gt;ada&lt;/i&gt; {model}</a>'
    chan = f'<a href="/admin/ui/channels/{channel["id"]}" title="{channel["id"]}">&lt;b&gt;chan&lt;/b&gt; {model}</a>'

    tasks = (await console.http.get("/admin/ui/tasks", params={"user_id": user_id})).text
    assert user in tasks and chan in tasks and "<i>ada</i>" not in tasks

    task = (await console.http.get(f"/admin/ui/tasks/{task_id}")).text
    assert user in task and chan in task
    assert f'<span title="{key_id}">&lt;u&gt;laptop&lt;/u&gt; {model}</span>' in task

    async def logged() -> str:
        page = (await console.http.get("/admin/ui/logs", params={"user_id": user_id})).text
        return page if task_id in page else ""
    logs = await eventually(logged, timeout=30, interval=0.5)
    assert logs.count(user) == 2 and logs.count(chan) == 2  # the row and its totals
