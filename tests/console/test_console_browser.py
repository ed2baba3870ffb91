"""An operator's session in a real browser (Debian's chromium, headless, driven by Playwright):
log in, create a channel and a user, top up, create a key, find a task submitted through the API
in the task list, see its settlement, export the logs. One screenshot per page in test-artifacts."""
from __future__ import annotations

import csv
import io
import secrets
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, async_playwright

from tests.harness.api import eventually
from tests.harness.csp import csp_refusals

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"


@pytest.fixture
async def page():
    assert CHROMIUM.exists(), "make test installs Debian's chromium (make browser)"
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                                   args=["--no-sandbox", "--disable-dev-shm-usage"])
        context = await browser.new_context(accept_downloads=True)
        yield await context.new_page()
        await browser.close()


async def shot(page: Page, name: str) -> None:
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def test_operator_runs_the_gateway_from_the_browser(page: Page, stack):
    base = stack.gateway_url
    model = f"console-{secrets.token_hex(3)}"
    refused = csp_refusals(page)

    await page.goto(f"{base}/admin")
    assert "/admin/login" in page.url
    await shot(page, "login")
    await page.fill("#token", stack.admin_token)
    await page.click("#login")
    await page.wait_for_url("**/admin/ui/overview")
    await page.goto(f"{base}/admin/ui/channels")

    await page.click("#new-channel")
    await page.fill("input[name=name]", f"mock {model}")
    await page.select_option("select[name=kind]", "custompass_async")
    await page.fill("input[name=base_url]", stack.upstream_url)
    await page.fill("input[name=api_key]", "upstream-secret")
    await page.fill("input[name=models]", f"{model}/submit")
    await page.select_option("select[name=billing_mode]", "per_call")
    await page.fill("input[name=billing_price]", "10")
    await page.fill("input[name=poll_interval_s]", "0.2")
    await shot(page, "channel-form")
    await page.click("#save-channel")
    await page.wait_for_selector("#notice")
    await page.click("#test-channel")
    assert "HTTP 200" in await page.inner_text("#test-result")
    await shot(page, "channel-tested")
    await page.goto(f"{base}/admin/ui/channels")
    await shot(page, "channels")

    await page.goto(f"{base}/admin/ui/users")
    await page.fill("#new-user-name", f"console user {model}")
    await page.click("#create-user")
    await page.wait_for_selector("#wallet")
    user_id = page.url.rsplit("/", 1)[-1]
    await page.fill("#topup-amount", "100")
    await page.click("#topup")
    await page.wait_for_selector("#notice")
    assert await page.inner_text("#available") == "100"
    await shot(page, "user")
    await page.click("#create-key")
    key = (await page.inner_text("#secret")).strip()
    await shot(page, "key-created")

    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
        submitted = await client.post(f"/pass/{model}/submit", json={"prompt": "p", "mock": {"polls_before_done": 1}})
    assert submitted.status_code == 200, submitted.text
    task_id = submitted.json()["task_id"]

    await page.goto(f"{base}/admin/ui/tasks")
    await page.fill("#task-user", user_id)
    await page.click("#filter-tasks")
    await page.click(f"text={task_id}")
    await shot(page, "tasks")

    async def settled_on_the_page():
        await page.goto(f"{base}/admin/ui/tasks/{task_id}")
        return await page.locator("#final-cost").count() and await page.inner_text("#final-cost") == "10"
    await eventually(settled_on_the_page, timeout=30, interval=0.5)
    assert await page.inner_text("#pass-status") == "completed"
    await shot(page, "task")

    await page.goto(f"{base}/admin/ui/logs")
    await page.fill("#log-user", user_id)
    await page.click("#filter-logs")
    await shot(page, "logs")
    async with page.expect_download() as downloading:
        await page.click("#export-csv")
    download = await downloading.value
    rows = list(csv.DictReader(io.StringIO(Path(await download.path()).read_text())))
    assert [(r["task_id"], r["quota"], r["status"]) for r in rows] == [(task_id, "10", "SUCCESS")]

    await page.click("nav >> text=Reconciliation")
    await page.select_option("#recon-channel", label=f"mock {model}")
    await page.click("#reconcile")
    assert await page.inner_text("#reconciliation td.revenue") == "10", await page.inner_text("#reconciliation")
    await shot(page, "reconciliation")

    await page.goto(f"{base}/admin/ui/channels?lang=zh")
    assert "渠道" in await page.inner_text("nav")
    await shot(page, "channels-zh")
    await page.goto(f"{base}/admin/ui/users")  # the language sticks
    assert "用户" in await page.inner_text("h1")
    assert refused == []  # every page works within its Content-Security-Policy
