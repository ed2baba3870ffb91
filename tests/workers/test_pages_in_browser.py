"""The admin pages in headless Chromium (Debian's `chromium`, installed by `make install`): a
person sees a queued task on /dashboard and completes it from /test-worker."""
from __future__ import annotations

import json
import shutil

import pytest
from playwright.async_api import Browser, async_playwright

from tests.harness.api import eventually

# DESIGN.md, "Browser tests": no sandbox as root, and no look-ups of Chromium's own beyond 127.0.0.1.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]


@pytest.fixture(scope="module")
async def browser():
    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is missing: `make install` installs it"
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
    await dashboard.goto(dispatch_stack.gateway_url + "/dashboard")
    await dashboard.fill("#token", dispatch_stack.admin_token)
    await dashboard.click("#login button")
    await dashboard.locator("#queued", has_text=task_id).wait_for(timeout=15_000)

    worker = await browser.new_page()
    await worker.goto(dispatch_stack.gateway_url + "/test-worker")
    await worker.fill("#group", group)
    await worker.fill("#token", token)
    await worker.click("#connect button")
    received = worker.locator(f'.task[data-task-id="{task_id}"]')
    await received.wait_for(timeout=15_000)
    assert json.loads(await received.locator("pre").inner_text())["data"] == {"prompt": "by hand"}
    await received.locator("textarea").fill('{"made": "by a person"}')
    await received.locator(".complete").click()

    async def completed():
        view = (await client.get(f"/api/task/{task_id}")).json()
        return view if view["status"] == "completed" else None
    assert (await eventually(completed, timeout=15))["result"] == {"made": "by a person"}
    await dashboard.locator("#recent", has_text=task_id).wait_for(timeout=15_000)
    await dashboard.close()
    await worker.close()
