"""The Task API (seed 001) through the real gateway, billing, poller and settlement processes,
the broker and database stand-ins, and the mock upstream: typed tasks from creation to
settlement, both ways of signing in, pagination and filters, and every error code."""
from __future__ import annotations

import time

import httpx
import jwt

from shared.ledger.invariants import wallet_violations
from tests.harness.api import eventually
from tests.harness.settled import assert_one_log, settled_task
from tests.task_api.conftest import JWT_SECRET, PRICE, START_TIMEOUT_S, token_for

IMAGE = "http://127.0.0.2:9/in.png"  # allow-listed (conftest); the upstream never fetches it here


async def task_view(http: httpx.AsyncClient, task_id: str) -> dict:
    response = await http.get(f"/api/task/{task_id}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    return body["data"]


def refused(response: httpx.Response, status: int, code: int | str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False and body["code"] == code and body["message"], body


async def test_a_typed_task_goes_upstream_succeeds_and_is_charged_once(task_type, task_user, task_admin, task_db,
                                                                       upstream, image_server):
    urls = [f"{image_server}/out/1.png", f"{image_server}/out/2.png"]
    name = await task_type(scenario={"polls_before_done": 2, "result": {"urls": urls}})
    user = await task_user(quota=100)
    created = await user.create(name, IMAGE, {"anything": 1})
    assert created.status_code == 200, created.text
    data = created.json()["data"]
    assert created.json()["success"] is True and set(data) == {"taskId", "type", "status", "createdAt"}
    assert data["type"] == name and data["status"] == "pending"
    assert (await task_admin.wallet(user.user_id))["held"] == PRICE

    sent = (await upstream.get("/_mock/requests", params={"path_contains": "typed-" + name})).json()
    assert sent[0]["body"] == {"type": name, "inputImageUrl": IMAGE, "params": {"anything": 1}}

    seen = set()

    async def succeeded():
        view = await task_view(user.http, data["taskId"])
        seen.add(view["status"])
        return view if view["status"] == "success" else None
    view = await eventually(succeeded, interval=0.05)
    assert "processing" in seen
    assert view["resultUrls"] == urls and view["errorMessage"] is None and view["completedAt"]
    assert view["inputImageUrl"] == IMAGE and view["params"] == {"anything": 1} and view["type"] == name
    await settled_task(task_db, data["taskId"])
    await assert_one_log(task_db, data["taskId"], "SUCCESS", PRICE)
    assert await task_admin.wallet(user.user_id) == {"available": 90, "held": 0, "used": 10, "credited": 100,
                                                     "debt": 0}
    assert await wallet_violations(task_db, user.user_id) == []


async def test_result_urls_come_from_url_or_resulturls_too(task_type, task_user):
    user = await task_user()
    for result, expected in (({"url": "https://cdn.example/one.png"}, ["https://cdn.example/one.png"]),
                             ({"resultUrls": ["https://cdn.example/a.png"]}, ["https://cdn.example/a.png"])):
        name = await task_type(scenario={"polls_before_done": 0, "result": result})
        task_id = (await user.create(name, IMAGE)).json()["data"]["taskId"]

        async def done():
            view = await task_view(user.http, task_id)
            return view if view["status"] == "success" else None
        assert (await eventually(done))["resultUrls"] == expected


async def test_an_upstream_failure_fails_the_task_and_refunds_it(task_type, task_user, task_admin, task_db):
    name = await task_type(scenario={"outcome": "fail", "polls_before_done": 0, "fail_error": "no garment found"})
    user = await task_user(quota=100)
    task_id = (await user.create(name, IMAGE)).json()["data"]["taskId"]
    await settled_task(task_db, task_id)
    view = await task_view(user.http, task_id)
    assert view["status"] == "failed" and view["errorMessage"] == "no garment found" and view["resultUrls"] == []
    await assert_one_log(task_db, task_id, "FAILURE", 0)
    assert await task_admin.wallet(user.user_id) == {"available": 100, "held": 0, "used": 0, "credited": 100,
                                                     "debt": 0}


async def test_a_task_not_started_in_time_fails_with_the_seed_message_and_is_refunded(
        task_type, task_user, task_admin, task_db):
    # The upstream keeps answering `queued`, a word this channel lists as not started.
    name = await task_type(scenario={"outcome": "never", "processing_word": "queued"},
                           status_words={"queued": ["queued"]})
    user = await task_user(quota=100)
    task_id = (await user.create(name, IMAGE)).json()["data"]["taskId"]
    assert (await task_view(user.http, task_id))["status"] == "pending"
    await settled_task(task_db, task_id)
    view = await task_view(user.http, task_id)
    assert view["status"] == "failed" and view["errorMessage"] == "任务超时(10分钟未处理)"
    assert (await task_db.tasks.find_one({"_id": task_id}))["fail_reason"] == "start_timeout"
    assert (await task_admin.wallet(user.user_id))["available"] == 100


async def test_a_started_task_outlives_the_start_timeout(task_type, task_user, upstream):
    name = await task_type(scenario={"outcome": "never"})
    user = await task_user()
    created = (await user.create(name, IMAGE)).json()["data"]
    deadline = time.monotonic() + START_TIMEOUT_S + 1

    async def polled_past_the_deadline():
        mock_tasks = [t for t in (await upstream.get("/_mock/tasks")).json() if t["model"] == f"typed-{name}"]
        if time.monotonic() < deadline:
            return None
        return mock_tasks[0]["polls"] if mock_tasks else None
    polls = await eventually(polled_past_the_deadline)

    async def polled_again():  # a sweep that saw the task after its start deadline
        mock_tasks = [t for t in (await upstream.get("/_mock/tasks")).json() if t["model"] == f"typed-{name}"]
        return mock_tasks[0]["polls"] > polls
    await eventually(polled_again)
    assert (await task_view(user.http, created["taskId"]))["status"] == "processing"


async def test_a_jwt_signs_in_without_an_api_key(task_type, task_admin, task_stack):
    name = await task_type(scenario={"polls_before_done": 0})
    user_id = await task_admin.create_user(quota=50)
    async with httpx.AsyncClient(base_url=task_stack.gateway_url, timeout=30,
                                 headers={"Authorization": f"Bearer {token_for(user_id)}"}) as http:
        created = await http.post("/api/task/create", json={"type": name, "inputImageUrl": IMAGE})
        assert created.status_code == 200, created.text
        task_id = created.json()["data"]["taskId"]
        assert (await task_view(http, task_id))["id"] == task_id
        listed = (await http.get("/api/task/list")).json()["data"]
        assert [t["id"] for t in listed["tasks"]] == [task_id]
        # Key-only routes still want an API key.
        assert (await http.get("/api/wallet")).status_code == 401
    wallet = await task_admin.wallet(user_id)  # one read: the task may settle between two (held -> used)
    assert wallet["held"] + wallet["used"] == PRICE


async def test_bad_jwts_are_refused(task_stack, task_admin):
    user_id = await task_admin.create_user(quota=50)
    cases = {
        "bad signature": (token_for(user_id, secret="another-secret-0123456789abcdef01"), 401, 4003),
        "expired": (token_for(user_id, expires_in_s=-30), 401, 4003),
        "no such user": (token_for("usr_missing"), 403, 1004),
        "not a token": ("a.b.c", 401, 4003),
    }
    async with httpx.AsyncClient(base_url=task_stack.gateway_url, timeout=30) as http:
        for case, (token, status, code) in cases.items():
            for method, path in (("GET", "/api/task/list"), ("GET", "/api/task/task_x"),
                                 ("POST", "/api/task/create")):
                response = await http.request(method, path, headers={"Authorization": f"Bearer {token}"},
                                              json={"type": "x", "inputImageUrl": IMAGE})
                assert response.status_code == status, (case, path, response.text)
                assert response.json()["code"] == code and response.json()["success"] is False, (case, path)
        refused(await http.get("/api/task/list"), 401, 4003)
        no_exp = jwt.encode({"sub": user_id}, JWT_SECRET, algorithm="HS256")
        refused(await http.get("/api/task/list", headers={"Authorization": f"Bearer {no_exp}"}), 401, 4003)


async def test_error_codes_of_create(task_type, task_user, task_admin, task_db):
    name = await task_type(params_schema={"type": "object", "properties": {"scene": {"enum": ["street", "studio"]}}})
    user = await task_user(quota=100)
    refused(await user.create("no_such_type", IMAGE), 400, 4001)
    refused(await user.create(name, IMAGE, {"scene": "beach"}), 400, 4001)
    refused(await user.http.post("/api/task/create", json={"type": name}), 400, 4001)
    refused(await user.http.post("/api/task/create", content=b"{not json", headers={"Content-Type": "application/json"}),
            400, 4001)
    refused(await (await task_user(quota=0)).create(name, IMAGE), 402, 1003)
    refused(await (await task_user(quota=100, member_until="2020-01-01T00:00:00Z")).create(name, IMAGE), 403, 1002)
    disabled = await task_user(quota=100)
    await task_admin.http.patch(f"/admin/users/{disabled.user_id}", json={"status": "disabled"})
    refused(await disabled.create(name, IMAGE), 403, 4003)
    assert await task_db.tasks.count_documents({"task_type": name}) == 0


async def test_only_the_owner_sees_a_typed_task(task_type, task_user):
    name = await task_type()
    owner, stranger = await task_user(), await task_user()
    task_id = (await owner.create(name, IMAGE)).json()["data"]["taskId"]
    refused(await stranger.http.get(f"/api/task/{task_id}"), 403, 4003)
    missing = await owner.http.get("/api/task/task_missing")
    refused(missing, 404, 4004)
    assert missing.json()["error"] == "Task not found or expired"  # the dispatch seed's field too
    assert [t["id"] for t in (await stranger.http.get("/api/task/list")).json()["data"]["tasks"]] == []


async def test_list_pages_and_filters(task_type, task_user, task_db):
    done_type = await task_type(scenario={"polls_before_done": 0})
    other_type = await task_type(poll_interval_s=3600)  # stays pending
    user = await task_user(quota=1000)
    done = [(await user.create(done_type, IMAGE)).json()["data"]["taskId"] for _ in range(3)]
    pending = [(await user.create(other_type, IMAGE)).json()["data"]["taskId"] for _ in range(2)]
    for task_id in done:
        await settled_task(task_db, task_id)

    async def page(**query) -> dict:
        response = await user.http.get("/api/task/list", params=query)
        assert response.status_code == 200, response.text
        return response.json()["data"]

    everything = await page()
    assert everything["total"] == 5 and everything["limit"] == 10 and everything["offset"] == 0
    assert [t["id"] for t in everything["tasks"]] == list(reversed(done + pending))  # newest first
    first, second = await page(limit=2, offset=0), await page(limit=2, offset=2)
    assert [t["id"] for t in first["tasks"] + second["tasks"]] == [t["id"] for t in everything["tasks"][:4]]
    assert (await page(limit=2, offset=4))["tasks"][0]["id"] == done[0]
    assert {t["id"] for t in (await page(status="success"))["tasks"]} == set(done)
    assert {t["id"] for t in (await page(status="pending"))["tasks"]} == set(pending)
    assert (await page(status="failed"))["total"] == 0
    assert {t["id"] for t in (await page(type=other_type))["tasks"]} == set(pending)
    assert (await page(type=done_type, status="pending"))["total"] == 0
    for bad in ({"limit": 0}, {"limit": 101}, {"offset": -1}, {"status": "done"}):
        refused(await user.http.get("/api/task/list", params=bad), 400, 4001)


async def test_key_and_user_limits_apply_to_typed_tasks_whichever_the_sign_in(task_type, task_user, task_admin,
                                                                              task_stack):
    name = await task_type(poll_interval_s=3600)  # tasks stay in flight
    capped = await task_user(quota=100, max_in_flight=1)
    assert (await capped.create(name, IMAGE)).status_code == 200
    refused(await capped.create(name, IMAGE), 429, "too_many_in_flight")
    async with httpx.AsyncClient(base_url=task_stack.gateway_url, timeout=30,
                                 headers={"Authorization": f"Bearer {token_for(capped.user_id)}"}) as signed_in:
        refused(await signed_in.post("/api/task/create", json={"type": name, "inputImageUrl": IMAGE}), 429,
                "too_many_in_flight")  # the user's own limit binds a JWT caller too
    user_id = await task_admin.create_user(quota=100)
    key = await task_admin.http.post(f"/admin/users/{user_id}/api-keys", json={"name": "k", "models": ["other"]})
    async with httpx.AsyncClient(base_url=task_stack.gateway_url, timeout=30,
                                 headers={"Authorization": f"Bearer {key.json()['key']}"}) as limited:
        refused(await limited.post("/api/task/create", json={"type": name, "inputImageUrl": IMAGE}), 403, 4003)
