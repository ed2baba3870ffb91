"""The admin pages in headless Chromium (Debian's `chromium`, installed by `make install`): a
person logs in to the console (through `/dashboard`, which redirects there), sees a queued task on
the console's dispatch page, completes it from /test-worker and sees it finish without a reload."""
from __future__ import annotations

import json
import shutil

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.conftest import ARTIFACTS
from tests.harness.api import eventually
from tests.harness.csp import csp_refusals

# Every browser test's Chromium: no sandbox (tests run as root), and no look-ups of Chromium's own beyond 127.0.0.1.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
SHOTS = ARTIFACTS / "workers"
CONSOLE_SHOTS = ARTIFACTS / "console"


@pytest.fixture(scope="module")
async def browser():
    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is missing: `make install` installs it"
    SHOTS.mkdir(parents=True, exist_ok=True)
    CONSOLE_SHOTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


async def dispatch_page(browser: Browser, dispatch_stack) -> tuple[Page, list[str]]:
    """The console's dispatch page, reached from the old `/dashboard` address through the login;
    with the Content-Security-Policy refusals it meets."""
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    refused = csp_refusals(page)
    await page.goto(dispatch_stack.gateway_url + "/dashboard")
    assert "/admin/login" in page.url
    await page.fill("#token", dispatch_stack.admin_token)
    await page.click("#login")
    await page.wait_for_url("**/admin/ui/dispatch")
    await page.evaluate("window.__sameDocument = 1")  # gone if anything reloads the page
    return page, refused


async def test_a_person_sees_a_queued_task_and_completes_it_from_the_test_worker_page(
        browser: Browser, worker_group, connect_worker, dispatch_client, dispatch_stack):
    group, token = await worker_group(billing={"mode": "free"})
    idle = await connect_worker(group, token, ready=False)  # keeps the group online while the task waits
    _, client = await dispatch_client()
    submitted = await client.post("/api/openai", json={"data": {"prompt": "by hand"}, "group": group, "async": True})
    task_id = submitted.json()["taskId"]

    dashboard, refused = await dispatch_page(browser, dispatch_stack)
    # Rendered by the server: the connected worker, its group with one task queued, the task.
    await dashboard.locator("#workers tr", has_text=idle.id).wait_for(timeout=15_000)
    assert "1" in await dashboard.locator("#groups tr", has_text=group).inner_text()
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
    # The page's script brings the change in without a reload: the task finished, the queue empty.
    finished = dashboard.locator("#recent tr", has_text=task_id)
    await finished.wait_for(timeout=15_000)
    assert "Completed" in await finished.inner_text() and "by a person" in await finished.inner_text()
    await dashboard.locator("#queued tr", has_text=task_id).wait_for(state="detached", timeout=15_000)
    assert await dashboard.evaluate("window.__sameDocument") == 1
    await dashboard.screenshot(path=str(CONSOLE_SHOTS / "dispatch.png"), full_page=True)
    await dashboard.goto(dispatch_stack.gateway_url + "/admin/ui/dispatch?lang=zh")
    assert await dashboard.inner_text("h1") == "Worker 调度"
    assert "已完成" in await dashboard.locator("#recent tr", has_text=task_id).inner_text()
    await dashboard.screenshot(path=str(CONSOLE_SHOTS / "dispatch-zh.png"), full_page=True)
    # The pages' scripts, styles, fetches and socket are all within their security policy.
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

    dashboard, refused = await dispatch_page(browser, dispatch_stack)
    for task_id in (failed, completed):
        await dashboard.locator("#recent tr", has_text=task_id).wait_for(timeout=15_000)
    error_row = await dashboard.locator("#recent tr", has_text=failed).inner_text()
    assert MARKUP in error_row  # the worker's error, exactly as sent, as text
    assert MARKUP.replace('"', '\\"') in await dashboard.locator("#recent tr", has_text=completed).inner_text()
    # A refresh by the page's script (its rows rewritten from the JSON): an injected <img> would be in the table now.
    async def refreshed():
        return int(await dashboard.locator("body").get_attribute("data-refreshes") or 0) >= 1
    await eventually(refreshed, timeout=15)
    assert MARKUP in await dashboard.locator("#recent tr", has_text=failed).inner_text()
    assert await dashboard.locator("table img").count() == 0
    assert await dashboard.evaluate("window.__pwned") is None
    assert refused == []
    await dashboard.screenshot(path=str(CONSOLE_SHOTS / "dispatch-markup.png"), full_page=True)
    await dashboard.close()
