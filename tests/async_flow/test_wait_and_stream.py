"""How a client learns a task's outcome without polling fetch: `Prefer: wait` on the submit
(`services/gateway/prefer_wait.py`) and the task's event stream (`event_streams.py`), both fed by
the gateway's task watch, whichever process changed the task."""
from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx

from tests.async_flow.conftest import IMAGE_URL
from tests.async_flow.test_async_flow import settled
from tests.harness.api import eventually


async def sse_events(response: httpx.Response) -> AsyncIterator[dict]:
    """The events of a `text/event-stream` answer, `{"id", "event", "data"}` each; comments as `{"comment"}`."""
    event: dict = {}
    async for line in response.aiter_lines():
        if line.startswith(":"):
            yield {"comment": line[1:].strip()}
        elif line:
            name, _, value = line.partition(": ")
            event[name] = json.loads(value) if name == "data" else value
        elif event:
            yield {**event, "id": int(event["id"])}
            event = {}


async def test_prefer_wait_answers_with_the_terminal_task(async_channel, make_client, mongo_db):
    model, _ = await async_channel()
    client = await make_client(quota=100)
    answer = await client.submit(model, {"prompt": "p", "mock": {"polls_before_done": 3}},
                                 headers={"Prefer": "wait=30"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["Preference-Applied"] == "wait=30"
    task = answer.json()
    assert task["status"] == "completed" and task["progress"] == "100%" and "result" in task, task
    assert await mongo_db.tasks.count_documents({"user_id": client.user_id}) == 1
    assert (await settled(client, model, task["task_id"], mongo_db))["status"] == "completed"


async def test_prefer_wait_times_out_with_the_running_task(async_channel, make_client):
    model, _ = await async_channel()
    client = await make_client(quota=100)
    answer = await client.submit(model, {"prompt": "p", "mock": {"outcome": "never"}}, headers={"Prefer": "wait=1"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["Preference-Applied"] == "wait=1"
    assert answer.json()["status"] == "processing"


async def test_an_idempotent_replay_with_prefer_wait_waits_on_the_first_task(async_channel, make_client, mongo_db):
    model, _ = await async_channel()
    client = await make_client(quota=100)
    body, key = {"prompt": "p", "mock": {"polls_before_done": 3}}, {"Idempotency-Key": "wait-replay"}
    first = (await client.submit(model, body, headers=key)).json()
    assert first["status"] == "processing"
    replay = await client.submit(model, body, headers={**key, "Prefer": "wait"})
    assert replay.headers["Preference-Applied"] == "wait=60"
    assert replay.json()["task_id"] == first["task_id"] and replay.json()["status"] == "completed"
    assert await mongo_db.tasks.count_documents({"user_id": client.user_id}) == 1


async def test_prefer_wait_on_a_typed_task_answers_once_it_succeeded(typed_task, make_client, mongo_db):
    name = await typed_task({"polls_before_done": 3, "result": {"urls": ["https://x/1.png"]}})
    client = await make_client(quota=100)
    answer = await client.http.post("/api/task/create", json={"type": name, "inputImageUrl": IMAGE_URL},
                                    headers={"Prefer": "wait=30"})
    assert answer.status_code == 200 and answer.headers["Preference-Applied"] == "wait=30", answer.text
    data = answer.json()["data"]
    assert data["status"] == "success" and data["resultUrls"] == ["https://x/1.png"] and data["completedAt"], data
    assert await mongo_db.tasks.count_documents({"user_id": client.user_id}) == 1


async def test_prefer_wait_on_a_typed_task_times_out_with_it_running(typed_task, make_client):
    name = await typed_task({"outcome": "never"})
    client = await make_client(quota=100)
    answer = await client.http.post("/api/task/create", json={"type": name, "inputImageUrl": IMAGE_URL},
                                    headers={"Prefer": "wait=1"})
    assert answer.status_code == 200 and answer.headers["Preference-Applied"] == "wait=1", answer.text
    data = answer.json()["data"]
    assert data["status"] == "processing" and data["completedAt"] is None, data


async def test_a_bad_prefer_wait_is_refused_before_any_task(async_channel, make_client, mongo_db):
    model, _ = await async_channel()
    client = await make_client(quota=100)
    for value in ("wait=0", "wait=61", "wait=abc", "wait=-1", "respond-async, wait=1.5"):
        answer = await client.submit(model, {"prompt": "p"}, headers={"Prefer": value})
        assert answer.status_code == 400 and answer.json()["code"] == "invalid_prefer_wait", (value, answer.text)
    assert await mongo_db.tasks.count_documents({"user_id": client.user_id}) == 0


async def test_the_event_stream_survives_a_reconnect_with_last_event_id(async_channel, make_client):
    model, _ = await async_channel()
    client = await make_client(quota=100)
    task_id = (await client.submit(model, {"prompt": "p", "mock": {"polls_before_done": 8}})).json()["task_id"]
    path = f"/pass/{model}/task/{task_id}/events"
    seen: list[dict] = []
    async with client.http.stream("GET", path) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        async for event in sse_events(response):
            if "comment" in event:
                continue
            seen.append(event)
            if event["event"] == "progress" or event["event"] == "done":
                break
    assert seen[0]["event"] == "status" and seen[0]["data"]["task_id"] == task_id
    async with client.http.stream("GET", path, headers={"Last-Event-ID": str(seen[-1]["id"])}) as response:
        async for event in sse_events(response):
            if "comment" not in event:
                seen.append(event)
    ids = [event["id"] for event in seen]
    assert ids == sorted(set(ids)), ids  # nothing repeated across the reconnect, in order
    assert seen[-1]["event"] == "done" and seen[-1]["data"]["status"] == "completed"
    assert seen[-1]["data"] == (await client.fetch(model, task_id)).json()  # the fetch's own shape
    assert all(event["event"] in {"status", "progress"} for event in seen[:-1])


async def test_a_finished_task_streams_done_at_once_and_closes(async_channel, make_client, mongo_db):
    model, _ = await async_channel()
    client = await make_client(quota=100)
    task_id = (await client.submit(model, {"prompt": "p", "mock": {"outcome": "fail"}},
                                   headers={"Prefer": "wait=30"})).json()["task_id"]
    async with client.http.stream("GET", f"/pass/{model}/task/{task_id}/events",
                                  headers={"Last-Event-ID": "99999999999999"}) as response:
        events = [event async for event in sse_events(response)]
    assert [e["event"] for e in events] == ["done"] and events[0]["data"]["status"] == "failed"


async def test_another_callers_task_stream_answers_404_like_fetch(async_channel, make_client):
    model, _ = await async_channel()
    owner, other = await make_client(quota=100), await make_client(quota=100)
    task_id = (await owner.submit(model, {"prompt": "p", "mock": {"outcome": "never"}})).json()["task_id"]
    for fetch, events in ((f"/pass/{model}/task/{task_id}/fetch", f"/pass/{model}/task/{task_id}/events"),
                          (f"/api/task/{task_id}", f"/api/task/{task_id}/events")):
        answer, fetched = await other.http.get(events), await other.http.get(fetch)
        assert answer.status_code == fetched.status_code == 404, (events, answer.text)
        assert answer.json() == fetched.json()  # word for word the fetch's answer


async def test_open_streams_are_bounded_per_key(async_channel, make_client):
    model, _ = await async_channel()
    client = await make_client(quota=100)
    task_id = (await client.submit(model, {"prompt": "p", "mock": {"outcome": "never"}})).json()["task_id"]
    path = f"/pass/{model}/task/{task_id}/events"
    streams = [client.http.stream("GET", path) for _ in range(8)]  # EVENT_STREAMS_PER_KEY's default
    opened = [await stream.__aenter__() for stream in streams]
    try:
        assert all(response.status_code == 200 for response in opened)
        refused = await client.http.get(path)
        assert refused.status_code == 429 and refused.json()["code"] == "too_many_streams"
        assert refused.headers["Retry-After"]
    finally:
        for stream in streams:
            await stream.__aexit__(None, None, None)

    async def opens_again() -> bool:  # closed streams give their slots back
        async with client.http.stream("GET", path) as again:
            return again.status_code == 200
    assert await eventually(opens_again, timeout=10)
