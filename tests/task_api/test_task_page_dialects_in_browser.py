"""`/task/{id}` shows any task of its caller, in the dialect of the API that created it: a `/pass`
async task (its result images), a `/pass` sync call, a Task API task and a worker-dispatch task
(its worker's result as text), each in headless Chromium under the pages' security policy.
Screenshots in test-artifacts/task_api/task-*.png."""
from __future__ import annotations

import json
import secrets

from playwright.async_api import Browser, Page
from websockets.asyncio.client import connect

from tests.harness.csp import csp_refusals
from tests.task_api.conftest import token_for
from tests.task_api.test_pages_in_browser import browser, shot  # noqa: F401 (the module's browser)
from tests.task_api.test_task_api import IMAGE
from tests.workers.conftest import Worker

TASK_ID_HEADER = "x-custompass-task-id"


async def watched(browser: Browser, url: str, credential: str, state: str) -> tuple[Page, list[str]]:
    """The page of a task, once it shows `state` and stopped polling."""
    page = await browser.new_page()
    refused = csp_refusals(page)
    await page.goto(f"{url}#token={credential}")
    await page.wait_for_selector(f"#status .tag-{state}", timeout=60_000)
    await page.wait_for_function("() => document.body.dataset.polling === 'done'")
    return page, refused


async def pass_channel(task_admin, task_stack, kind: str, model: str) -> None:
    await task_admin.create_channel(name=f"{kind}-{model}", kind=kind, base_url=task_stack.upstream_url,
                                    api_key="upstream-secret", models=[model],
                                    billing={"mode": "per_call", "price": 1}, poll_interval_s=0.2)


async def test_a_pass_async_task_shows_its_status_and_result_images(browser: Browser, task_admin, task_stack,  # noqa: F811
                                                                     task_user, upstream, image_server):
    model = f"video-{secrets.token_hex(3)}"
    await pass_channel(task_admin, task_stack, "custompass_async", f"{model}/submit")
    urls = [f"{image_server}/pass/{n}.png" for n in (1, 2)]
    await upstream.put(f"/_mock/scenarios/{model}", json={"polls_before_done": 2, "result": {"urls": urls}})
    user = await task_user()
    submitted = await user.http.post(f"/pass/{model}/submit", json={"prompt": "a cat"})
    assert submitted.status_code == 200, submitted.text
    task_id = submitted.json()["task_id"]
    key = user.http.headers["Authorization"].removeprefix("Bearer ")

    page, refused = await watched(browser, f"{task_stack.gateway_url}/task/{task_id}", key, "success")
    assert await page.locator("#status .tag").get_attribute("data-word") == "completed"
    assert await page.locator("#api").inner_text() == "CustomPass (async)"
    assert model in await page.locator("#details").inner_text()
    assert [await a.get_attribute("href") for a in await page.locator("#results a.download").all()] == urls
    assert json.loads(await page.locator("#result").inner_text()) == {"urls": urls}
    await page.wait_for_function(
        "() => [...document.querySelectorAll('#results img')].every((img) => img.complete && img.naturalWidth > 0)")
    await shot(page, "task-pass-async")
    assert refused == []
    await page.close()


async def test_a_pass_sync_call_shows_as_completed(browser: Browser, task_admin, task_stack, task_user):  # noqa: F811
    model = f"chat-{secrets.token_hex(3)}"
    await pass_channel(task_admin, task_stack, "custompass_sync", model)
    user = await task_user()
    answer = await user.http.post(f"/pass/{model}", json={"prompt": "hello"})
    assert answer.status_code == 200, answer.text
    key = user.http.headers["Authorization"].removeprefix("Bearer ")

    page, refused = await watched(browser, f"{task_stack.gateway_url}/task/{answer.headers[TASK_ID_HEADER]}",
                                  key, "success")
    assert await page.locator("#api").inner_text() == "CustomPass (sync)"
    assert await page.locator("#progress").evaluate("bar => bar.value") == 100
    await shot(page, "task-pass-sync")
    assert refused == []
    await page.close()


async def test_a_task_api_task_keeps_its_own_words(browser: Browser, task_type, task_user, task_stack,  # noqa: F811
                                                    image_server):
    name = await task_type(scenario={"polls_before_done": 1, "result": {"urls": [f"{image_server}/typed/1.png"]}})
    user = await task_user()
    task_id = (await user.create(name, IMAGE)).json()["data"]["taskId"]

    page, refused = await watched(browser, f"{task_stack.gateway_url}/task/{task_id}", token_for(user.user_id),
                                  "success")
    assert await page.locator("#status .tag").get_attribute("data-word") == "success"
    assert await page.locator("#api").inner_text() == "Task API"
    assert name in await page.locator("#details").inner_text()
    await page.wait_for_function("() => document.querySelector('#results img')?.naturalWidth > 0")
    await shot(page, "task-typed")
    assert refused == []
    await page.close()


async def test_a_worker_dispatch_task_shows_its_queue_position_then_its_result(  # noqa: F811
        browser: Browser, task_admin, task_stack, task_user):
    group = f"g-{secrets.token_hex(4)}"
    await task_admin.create_channel(name=f"worker-{group}", kind="worker", group=group, models=["default"],
                                    billing={"mode": "per_call", "price": 1})
    worker_token = (await task_admin.http.post("/admin/worker-tokens", json={"group": group})).json()["token"]
    ws_url = task_stack.gateway_url.replace("http://", "ws://") + f"/ws?group={group}"
    async with connect(ws_url, additional_headers={"Authorization": f"Bearer {worker_token}"}) as socket:
        hello = json.loads(await socket.recv())
        worker = Worker(socket, hello["workerId"])  # not ready yet: the task waits in the queue
        user = await task_user()
        submitted = await user.http.post("/api/openai", json={"data": {"prompt": "a dog"}, "group": group,
                                                               "async": True})
        assert submitted.status_code in (200, 202), submitted.text
        task_id = submitted.json()["taskId"]
        key = user.http.headers["Authorization"].removeprefix("Bearer ")

        page = await browser.new_page()
        refused = csp_refusals(page)
        await page.goto(f"{task_stack.gateway_url}/task/{task_id}#token={key}")
        await page.wait_for_selector("#status .tag[data-word=queued]", timeout=30_000)
        assert "Tasks ahead in the queue" in await page.locator("#details").inner_text()
        await shot(page, "task-dispatch-queued")

        await worker.send({"type": "ready"})
        await worker.complete(await worker.next_task(), {"caption": "<b>a dog</b>"})
        await page.wait_for_selector("#status .tag-success", timeout=30_000)
        await page.wait_for_function("() => document.body.dataset.polling === 'done'")
    assert await page.locator("#status .tag").get_attribute("data-word") == "completed"
    assert await page.locator("#api").inner_text() == "Worker dispatch"
    assert json.loads(await page.locator("#result").inner_text()) == {"caption": "<b>a dog</b>"}
    assert await page.locator("#result b").count() == 0  # a worker's result is text, never markup
    await shot(page, "task-dispatch-completed")
    assert refused == []
    await page.close()
