"""A channel's model mapping names the model upstream for the async flow too: the submit and
every status query go to the upstream's name, while the caller and the logs keep the public one."""
from __future__ import annotations

import asyncio
import secrets

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


async def test_a_channel_serving_two_models_queries_each_task_under_its_own_model(async_channel, make_client,
                                                                                  mongo_db, upstream):
    # The mock answers a model's status query only for tasks submitted to that model, as real
    # upstreams do: a batch queried under one model would leave the other model's tasks unanswered.
    first = f"video-{secrets.token_hex(3)}"
    second = f"{first}-hd"
    await async_channel(model=first, models=[f"{first}/submit", f"{second}/submit"], batch_size=50)
    client = await make_client(quota=1000)
    models = [first, second] * 4
    responses = await asyncio.gather(*(client.submit(m, {"prompt": "p", "mock": {"polls_before_done": 2}})
                                       for m in models))
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    for model, response in zip(models, responses):
        view = await settled(client, model, response.json()["task_id"], mongo_db)
        assert view["status"] == "completed", (model, view)
    model_of = {t["upstream_task_id"]: t["model"].removesuffix("/submit")
                async for t in mongo_db.tasks.find({"_id": {"$in": [r.json()["task_id"] for r in responses]}})}
    queries = (await upstream.get("/_mock/requests", params={"path_contains": "list-by-condition"})).json()
    queried = [(q["path"].split("/")[1], q["body"]["task_ids"]) for q in queries if first in q["path"]]
    assert {model for model, _ in queried} == {first, second}
    assert all(model_of[i] == model for model, ids in queried for i in ids), queried
