"""Result files carrying script, opened from `/results/...` by an admin logged in to the console,
run nothing in the gateway's origin: they cannot read the console's pages or post its forms
(issue 16, a reproduced attack: an SVG result read the users page and its CSRF token).
Headless Chromium, as the console's other browser tests; screenshots in test-artifacts/console/."""
from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from playwright.async_api import Browser, Error, Page, Route, async_playwright

from tests.harness.stored_results import stored
from tests.task_api.conftest import _png
from tests.workers.test_pages_in_browser import CHROMIUM_ARGS

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
# What the attack did: read the users page, take its CSRF token, create a user through the form.
ATTACK = """
fetch('/admin/ui/users').then((answer) => answer.text()).then((page) => {
  const csrf = page.match(/name="csrf" value="([0-9a-f]+)"/)[1];
  return fetch('/admin/ui/users', { method: 'POST', body: new URLSearchParams({ csrf, name: 'MARKER' }) });
});
document.documentElement.setAttribute('data-ran', 'yes');
"""


def svg(marker: str) -> bytes:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="160" height="90"><rect width="160" height="90" '
            f'fill="teal"/><script>{ATTACK.replace("MARKER", marker)}</script></svg>').encode()


def html(marker: str) -> bytes:
    return f"<!doctype html><p>result</p><script>{ATTACK.replace('MARKER', marker)}</script>".encode()


@pytest.fixture(scope="module")
async def browser():
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                                    args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest.fixture
async def admin_page(browser: Browser, stack):
    """A tab of an admin logged in to the console: what a result file's script would ride on."""
    context = await browser.new_context(accept_downloads=True)
    page = await context.new_page()
    await page.goto(f"{stack.gateway_url}/admin/login")
    await page.fill("#token", stack.admin_token)
    await page.click("#login")
    await page.wait_for_url("**/admin/ui/overview")
    yield page
    await context.close()


async def opens_as_download(page: Page, url: str) -> bool:
    try:
        async with page.expect_download(timeout=10_000) as started:
            try:
                await page.goto(url)
            except Error as exc:  # Playwright reports a navigation that became a download as an error
                assert "Download is starting" in exc.message, exc.message
        return (await started.value).suggested_filename == url.rsplit("/", 1)[-1]
    except Error:
        return False


async def users_named(mongo_db, marker: str) -> int:
    return await mongo_db.users.count_documents({"name": marker})


@pytest.mark.parametrize(("name", "content_type", "body"), [("evil.svg", "image/svg+xml", svg),
                                                            ("evil.html", "text/html", html)])
async def test_a_result_file_with_script_opens_as_a_download_and_runs_nothing(admin_page, stack, mongo_db, name,
                                                                             content_type, body):
    marker = f"pwned-{secrets.token_hex(4)}"
    url = await stored(stack, name, content_type, body(marker))
    assert await opens_as_download(admin_page, url)
    await admin_page.wait_for_timeout(1000)
    assert await users_named(mongo_db, marker) == 0


async def test_an_svg_result_rendered_anyway_is_sandboxed_and_runs_nothing(admin_page, stack, mongo_db):
    """A browser that ignored the download (or a file opened by other means) still meets the
    sandboxing policy: the document gets no origin of ours and no script."""
    marker = f"pwned-{secrets.token_hex(4)}"
    url = await stored(stack, "rendered.svg", "image/svg+xml", svg(marker))

    async def without_attachment(route: Route) -> None:
        served = await route.fetch()
        headers = {k: v for k, v in served.headers.items() if k.lower() != "content-disposition"}
        await route.fulfill(response=served, headers=headers)

    await admin_page.route(url, without_attachment)
    await admin_page.goto(url)
    await admin_page.wait_for_timeout(1000)
    await admin_page.screenshot(path=str(SHOTS / "svg-result-sandboxed.png"))
    assert await admin_page.locator("rect").count() == 1  # it did render, as an inert picture
    assert await admin_page.get_attribute("svg", "data-ran") is None
    assert await users_named(mongo_db, marker) == 0


async def test_an_image_result_still_shows_in_the_browser(admin_page, stack):
    url = await stored(stack, "picture.png", "image/png", _png(64, 40, (30, 140, 200)))
    await admin_page.goto(url)
    await admin_page.screenshot(path=str(SHOTS / "png-result.png"))
    assert await admin_page.locator("img").evaluate("img => img.complete && img.naturalWidth") == 64
