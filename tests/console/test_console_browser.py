"""An operator's session in a real browser (Debian's chromium, headless, driven by Playwright):
log in, create and edit a channel, create a user, top up, create a key and edit its limits, find a
task submitted through the API in the task list, see its settlement, export the logs, reconcile,
create and edit a group and a task type, issue and revoke a worker token, archive the channel; in
a 1280 px window no page scrolls sideways; in Chinese no page shows a phrase the console translates
in English; the system's dark scheme darkens the pages. One screenshot per page in test-artifacts."""
from __future__ import annotations

import csv
import io
import re
import secrets
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, async_playwright

from services.gateway.console.i18n import ZH
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


WIDTH = 1280
# "default" is also the name of the default user group, shown as it is stored.
ENGLISH = {en for en, zh in ZH.items() if en != zh} - {"default"}
# Every text on the page, labels and placeholders included (not scripts, nor stored JSON in <pre>).
TEXTS = """() => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT), out = [];
  while (walker.nextNode()) {
    if (!walker.currentNode.parentElement.closest("script, style, pre")) out.push(walker.currentNode.textContent);
  }
  document.querySelectorAll("[placeholder]").forEach((el) => out.push(el.placeholder));
  return out;
}"""


async def shot(page: Page, name: str) -> None:
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def fits(page: Page) -> None:
    """The page does not scroll sideways in a 1280 px window (wide tables scroll in their box)."""
    assert await page.evaluate("document.documentElement.scrollWidth") <= WIDTH, page.url


async def english_left(page: Page) -> list[str]:
    """Phrases the console translates that this page still shows in English, piece by piece
    ("Label: value", "a · b")."""
    return [piece for text in await page.evaluate(TEXTS)
            for piece in re.split(r"\s*[:·]\s+|\s+·\s*", text.strip()) if piece in ENGLISH]


async def test_operator_runs_the_gateway_from_the_browser(page: Page, stack):
    base = stack.gateway_url
    model = f"console-{secrets.token_hex(3)}"
    refused = csp_refusals(page)
    await page.set_viewport_size({"width": WIDTH, "height": 800})

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
    channel_url = page.url.split("?", 1)[0]
    await page.fill("input[name=priority]", "5")  # an edit, read back from the page the save answers
    await page.click("#save-channel")
    await page.wait_for_selector("#notice")
    assert await page.input_value("input[name=priority]") == "5"
    await page.click("#test-channel")
    assert "HTTP 200" in await page.inner_text("#test-result")
    await shot(page, "channel-tested")
    await page.goto(f"{base}/admin/ui/channels")
    await fits(page)
    await shot(page, "channels")

    await page.goto(f"{base}/admin/ui/users")
    await fits(page)
    await page.fill("#new-user-name", f"console user {model}")
    await page.click("#create-user")
    await page.wait_for_selector("#wallet")
    user_id = page.url.rsplit("/", 1)[-1]
    await page.fill("#topup-amount", "100")
    await page.click("#topup")
    await page.wait_for_selector("#notice")
    assert await page.inner_text("#available") == "100"
    await page.click("#create-key")
    key = (await page.inner_text("#secret")).strip()
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    await page.click("#copy-secret")  # shown once copy_secret.js has run
    await page.wait_for_selector("#copy-secret >> text=Copied")
    assert await page.evaluate("navigator.clipboard.readText()") == key
    await shot(page, "key-created")
    await page.goto(f"{base}/admin/ui/users/{user_id}")
    key_row = "#keys tr[data-key]"
    await page.fill(f"{key_row} [name=requests_per_minute]", "60")
    await page.click(f"{key_row} button")
    await page.wait_for_selector("#notice")
    assert await page.input_value(f"{key_row} [name=requests_per_minute]") == "60"
    await fits(page)
    await shot(page, "user")
    await page.goto(f"{base}/admin/ui/users")
    assert await page.inner_text(f"tr[data-user='{user_id}'] .balance") == "100"
    await shot(page, "users")

    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
        submitted = await client.post(f"/pass/{model}/submit", json={"prompt": "p", "mock": {"polls_before_done": 1}})
    assert submitted.status_code == 200, submitted.text
    task_id = submitted.json()["task_id"]

    await page.goto(f"{base}/admin/ui/tasks")
    await fits(page)
    await page.fill("#task-user", user_id)
    await page.click("#filter-tasks")
    await page.wait_for_url(f"**user_id={user_id}*")  # the filter is a form GET: measure the page it loads
    await fits(page)
    await page.click(f"text={task_id}")
    await shot(page, "tasks")

    async def settled_on_the_page():
        await page.goto(f"{base}/admin/ui/tasks/{task_id}")
        return await page.locator("#final-cost").count() and await page.inner_text("#final-cost") == "10"
    await eventually(settled_on_the_page, timeout=30, interval=0.5)
    assert await page.inner_text("#pass-status") == "completed"
    assert await page.inner_text("#billing") == "Billing mode\tPer call\nPrice\t10 quota per call\n" \
        "Precharge\tdefault: the price (per call) or 0\nPrice ratio\t× 1\nHold\t10"
    await fits(page)
    await shot(page, "task")

    await page.goto(f"{base}/admin/ui/logs")
    await page.fill("#log-user", user_id)
    await page.click("#filter-logs")
    await page.wait_for_url(f"**user_id={user_id}*")
    await fits(page)
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

    await page.click("nav >> text=Groups")
    group = f"0g-{secrets.token_hex(3)}"
    await page.fill("#new-group [name=name]", group)
    await page.fill("#new-group [name=price_ratio]", "0.8")
    await page.fill("#new-group [name=quota_limit]", "500")
    await page.click("#new-group button")
    row = f"#groups tr[data-group='{group}']"
    await page.fill(f"{row} [name=price_ratio]", "1.25")
    await page.click(f"{row} button")
    await page.wait_for_selector(f"{row} [name=price_ratio][value='1.25']")
    assert await page.input_value(f"{row} [name=quota_limit]") == "500"
    await fits(page)
    await shot(page, "groups")

    await page.click("nav >> text=Task types")
    task_type = f"aa_{secrets.token_hex(3)}"
    await page.fill("#new-task-type [name=type]", task_type)
    await page.fill("#new-task-type [name=model]", model)
    await page.fill("#new-task-type [name=params_schema]",
                    '{"type": "object", "properties": {"strength": {"type": "number", "maximum": 1}}}')
    await page.click("#new-task-type button")
    row = f"#task-types tr[data-task-type='{task_type}']"
    await page.fill(f"{row} [name=params_schema]", '{"type": "object", "required": ["strength"]}')
    await page.click(f"{row} button")
    await page.wait_for_selector("#notice")
    assert '"required": [' in await page.input_value(f"{row} [name=params_schema]")
    assert await page.input_value(f"{row} [name=model]") == model
    await fits(page)
    await shot(page, "task-types")

    await page.click("nav >> text=Worker tokens")
    worker_group = f"console-{secrets.token_hex(3)}"
    await page.fill("#worker-group", worker_group)
    await page.click("#issue-worker-token")
    assert (await page.inner_text("#secret")).startswith("cpw-")
    await page.wait_for_selector("#copy-secret")
    await page.goto(f"{base}/admin/ui/worker-tokens")
    token_row = f"#worker-tokens tr:has(td:text-is('{worker_group}'))"
    await page.click(f"{token_row} button")
    await page.wait_for_selector("#notice")
    assert "Disabled" in await page.inner_text(token_row)
    await fits(page)
    await shot(page, "worker-tokens")

    await page.goto(f"{base}/admin/ui/channels?lang=zh")
    assert "渠道" in await page.inner_text("nav")
    await shot(page, "channels-zh")
    await page.goto(f"{base}/admin/ui/users")  # the language sticks
    assert "用户" in await page.inner_text("h1")
    for path in ("overview", "channels", "channels/new", "users", f"users/{user_id}", "tasks", f"tasks/{task_id}",
                 "logs", "reconciliation", "worker-tokens", "groups", "task-types"):
        await page.goto(f"{base}/admin/ui/{path}")
        assert await english_left(page) == [], path
    await page.goto(channel_url)
    assert await english_left(page) == [], channel_url
    await shot(page, "channel-form-zh")
    await page.goto(f"{base}/admin/ui/tasks/{task_id}")
    await shot(page, "task-zh")
    await page.goto(channel_url)  # archived last: every page above showed it serving
    await page.check("#archive-channel [name=confirm]")
    await page.click("#archive")
    await page.wait_for_selector("#notice")
    assert f"mock {model}" not in await page.inner_text("#channels")
    await page.goto(channel_url)
    assert await page.locator("#archived").count() == 1
    await page.click("#logout")
    await page.wait_for_selector("#token")
    assert await english_left(page) == [], page.url

    await page.emulate_media(color_scheme="dark")  # the system's setting, followed by console.css
    await page.fill("#token", stack.admin_token)
    await page.click("#login")
    await page.wait_for_url("**/admin/ui/overview")
    await page.goto(f"{base}/admin/ui/overview?lang=en")
    await page.wait_for_selector("body[data-charts-drawn]")
    assert await page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(20, 23, 29)"
    await shot(page, "overview-dark")
    await page.goto(f"{base}/admin/ui/logs")
    await fits(page)
    await shot(page, "logs-dark")
    assert refused == []  # every page works within its Content-Security-Policy
