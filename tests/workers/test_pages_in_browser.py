"""The admin pages in headless Chromium (Debian's `chromium`, installed by `make install`): a
person sees a queued task on /dashboard and completes it from /test-worker."""
from __future__ import annotations

import json
import shutil

import pytest
from playwright.async_api import Browser, async_playwright

from tests.conftest import ARTIFACTS
from tests.harness.api import eventually
from tests.harness.csp import csp_refusals

# DESIGN.md, "Browser tests": no sandbox as root, and no look-ups of Chromium's own beyond 127.0.0.1.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
SHOTS = ARTIFACTS / "workers"


@pytest.fixture(scope="module")
async def browser():
    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is missing: `make install` installs it"
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


async def test_a_person_sees_a_queued_task_and_completes_it_from_the_test_worker_page(
        browser: Browser, worker_group, connect_worker, dispatch_client, dispatch_stack):
    group, token = await worker_group(billing={"mode": "free"})
    await connect_worker(group, token, ready=False)  # keeps the group online while the task waits
    _, client = await dispatch_client()
    submitted = await client.post("/api/openai", json={"data": {"prompt": "by hand"}, "group": group, "async": True})
    task_id = submitted.json()["taskId"]

    dashboard = await browser.new_page()
    refused = csp_refusals(dashboard)
    await dashboard.goto(dispatch_stack.gateway_url + "/dashboard")
    await dashboard.fill("#token", dispatch_stack.admin_token)
    await dashboard.click("#login button")
    await dashboard.locator("#queued", has_text=task_id).wait_for(timeout=15_000)

    worker = await browser.new_page()
    refused_on_worker_page = csp_refusals(worker)
    await worker.goto(dispatch_stack.gateway_url + "/test-worker")
    await worker.fill("#group", group)
    await worker.fill("#token", token)
    await worker.click("#connect button")
    received = worker.locator(f'.task[data-task-id="{task_id}"]')
    await received.wait_for(timeout=15_000)
    assert json.loads(await received.locator("pre").inner_text())["data"] == {"prompt": "by hand"}
    await worker.screenshot(path=str(SHOTS / "test-worker.png"), full_page=True)
    await received.locator("textarea").fill('{"made": "by a person"}')
    await received.locator(".complete").click()

    async def completed():
        view = (await client.get(f"/api/task/{task_id}")).json()
        return view if view["status"] == "completed" else None
    assert (await eventually(completed, timeout=15))["result"] == {"made": "by a person"}
    await dashboard.locator("#recent", has_text=task_id).wait_for(timeout=15_000)
    # The pages' scripts, styles and socket are all within their security policy.
    assert refused == [] and refused_on_worker_page == []
    await dashboard.close()
    await worker.close()


# A worker (or a caller) is not trusted with the admin's browser: what it sends is shown as text.
MARKUP = '<img src=x onerror="window.__pwned=1">'


async def test_worker_supplied_markup_shows_as_text_and_runs_no_script(
        browser: Browser, worker_group, connect_worker, dispatch_client, dispatch_stack):
    group, token = await worker_group(billing={"mode": "free"})
    worker = await connect_worker(group, token)
    _, client = await dispatch_client()
    failed = (await client.post("/api/openai", json={"data": {"prompt": MARKUP}, "group": group,
                                                     "async": True})).json()["taskId"]
    await worker.fail(await worker.next_task(), MARKUP)
    completed = (await client.post("/api/openai", json={"data": {"prompt": "x"}, "group": group,
                                                        "async": True})).json()["taskId"]
    await worker.complete(await worker.next_task(), {"html": MARKUP})

    dashboard = await browser.new_page()
    refused = csp_refusals(dashboard)
    await dashboard.goto(dispatch_stack.gateway_url + "/dashboard")
    await dashboard.fill("#token", dispatch_stack.admin_token)
    await dashboard.click("#login button")
    for task_id in (failed, completed):
        await dashboard.locator("#recent tr", has_text=task_id).wait_for(timeout=15_000)
    error_row = await dashboard.locator("#recent tr", has_text=failed).inner_text()
    assert MARKUP in error_row  # the worker's error, exactly as sent, as text
    assert MARKUP.replace('"', '\\"') in await dashboard.locator("#recent tr", has_text=completed).inner_text()
    await dashboard.wait_for_timeout(1500)  # a refresh or two: an injected <img> would have failed to load by now
    assert await dashboard.locator("table img").count() == 0
    assert await dashboard.evaluate("window.__pwned") is None
    assert refused == []
    await dashboard.screenshot(path=str(SHOTS / "dashboard.png"), full_page=True)
    await dashboard.close()
