"""The Task API's user pages in headless Chromium (Debian's `chromium`, no browser download): a
task created through the API is watched on /task/{taskId} until the mock upstream completes it,
its result images load from a real image server, and /tasks lists and filters it. Screenshots in
test-artifacts/task_api/."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.harness.csp import csp_refusals
from tests.task_api.conftest import IMAGE_HOST, token_for
from tests.task_api.test_task_api import IMAGE
from tests.workers.test_pages_in_browser import CHROMIUM_ARGS

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "task_api"
# The browser tests' Chromium flags, with the image server's address let through as well.
ARGS = [arg for arg in CHROMIUM_ARGS if not arg.startswith("--host-resolver-rules")] + [
    f"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE {IMAGE_HOST}"]


@pytest.fixture(scope="module")
async def browser():
    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is missing: `make test` installs it"
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=executable, headless=True, args=ARGS)
        yield launched
        await launched.close()


async def shot(page: Page, name: str) -> None:
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def test_a_user_watches_a_task_finish_and_sees_its_images(browser: Browser, task_type, task_user,
                                                                 task_stack, image_server):
    urls = [f"{image_server}/result/{n}.png" for n in range(1, 4)]
    # Polled every 0.5 s and done after 20 polls (10 s or more): the page sees it unfinished first,
    # even when a loaded machine takes seconds to start the browser (8 polls were not always enough).
    name = await task_type(scenario={"polls_before_done": 20, "result": {"urls": urls}}, poll_interval_s=0.5)
    user = await task_user(quota=100)
    task_id = (await user.create(name, IMAGE, {"scene": "studio"})).json()["data"]["taskId"]

    page = await browser.new_page()
    refused = csp_refusals(page)
    await page.goto(f"{task_stack.gateway_url}/task/{task_id}#token={token_for(user.user_id)}")
    first = await page.wait_for_selector("#status .tag")
    assert await first.get_attribute("data-status") in ("pending", "processing")
    assert "#token" not in page.url  # the credential left the address bar for sessionStorage
    await shot(page, "task-running")

    await page.wait_for_selector("#status .tag-success", timeout=60_000)
    await page.wait_for_function("() => document.body.dataset.polling === 'done'")
    images = page.locator("#results img")
    assert await images.count() == 3
    await page.wait_for_function(
        "() => [...document.querySelectorAll('#results img')].every((img) => img.complete && img.naturalWidth > 0)")
    assert [await a.get_attribute("href") for a in await page.locator("#results a.download").all()] == urls
    assert await page.locator("#progress").evaluate("bar => bar.value") == 100
    assert await page.locator("#error").is_hidden()
    await shot(page, "task-success")

    await page.goto(f"{task_stack.gateway_url}/tasks")  # same tab: the credential is still there
    row = page.locator(f"tr[data-task-id='{task_id}']")
    await row.wait_for()
    assert await row.locator(".tag").get_attribute("data-status") == "success"
    await shot(page, "tasks")
    await page.select_option("select[name=status]", "failed")
    await page.click("#apply")
    await page.wait_for_selector("tr.empty")
    assert "status=failed" in page.url
    await page.select_option("select[name=status]", "success")
    await page.fill("input[name=type]", name)
    await page.click("#apply")
    await row.wait_for()
    await shot(page, "tasks-filtered")
    assert refused == []  # scripts, styles and result images all within the pages' security policy
    await page.close()


async def test_the_page_pauses_while_hidden_and_shows_a_failure(browser: Browser, task_type, task_user,
                                                                  task_stack):
    name = await task_type(scenario={"outcome": "fail", "polls_before_done": 6, "fail_error": "no garment found"},
                           poll_interval_s=0.5)
    user = await task_user()
    task_id = (await user.create(name, IMAGE)).json()["data"]["taskId"]
    page = await browser.new_page()
    await page.goto(f"{task_stack.gateway_url}/task/{task_id}#token={token_for(user.user_id)}")
    await page.wait_for_function("() => document.body.dataset.polling === 'on'")
    await page.evaluate("""() => {
        Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});
        document.dispatchEvent(new Event('visibilitychange'));
    }""")
    assert await page.evaluate("document.body.dataset.polling") == "paused"
    await page.evaluate("""() => {
        Object.defineProperty(document, 'hidden', {configurable: true, get: () => false});
        document.dispatchEvent(new Event('visibilitychange'));
    }""")
    await page.wait_for_selector("#status .tag-failed", timeout=60_000)
    assert await page.locator("#error").inner_text() == "no garment found"
    assert await page.evaluate("document.body.dataset.polling") == "done"
    await shot(page, "task-failed")
    await page.close()

    stranger, page = await task_user(), await browser.new_page()  # a new tab: its own sessionStorage
    await page.goto(f"{task_stack.gateway_url}/task/{task_id}#token={token_for(stranger.user_id)}")
    await page.wait_for_selector("#notice:not([hidden])")
    assert await page.evaluate("document.body.dataset.polling") == "done"  # a 403 is not retried
    assert await page.locator("#task").is_hidden()
    await page.close()
