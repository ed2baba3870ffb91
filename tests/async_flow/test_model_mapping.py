"""A channel's model mapping names the model upstream for the async flow too: the submit and
every status query go to the upstream's name, while the caller and the logs keep the public one."""
from __future__ import annotations

from tests.async_flow.test_async_flow import settled


async def test_async_task_is_submitted_and_polled_under_the_mapped_name(async_channel, make_client, mongo_db,
                                                                       upstream):
    model, _ = await async_channel()
    public = f"{model}-public"
    await async_channel(model=public, model_mapping={public: f"{model}-v2"})
    client = await make_client(quota=100)
    response = await client.submit(public, {"prompt": "p"})
    assert response.status_code == 200, response.text
    view = await settled(client, public, response.json()["task_id"], mongo_db)
    assert view["status"] == "completed"
    paths = {r["path"] for r in (await upstream.get("/_mock/requests", params={"path_contains": model})).json()}
    assert paths == {f"/{model}-v2/submit", f"/{model}-v2/task/list-by-condition"}
    log = await mongo_db.consumption_logs.find_one({"task_id": response.json()["task_id"]})
    assert log["model"] == public
