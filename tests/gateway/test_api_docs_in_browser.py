"""`/docs` and `/redoc` render offline: Swagger UI and ReDoc come from the gateway itself (no
request leaves 127.0.0.1), under the docs pages' security policy, and show the document's bearer
schemes. Screenshots in test-artifacts/gateway/."""
from __future__ import annotations

import shutil

from playwright.async_api import async_playwright

from tests.conftest import ARTIFACTS
from tests.harness.csp import csp_refusals
from tests.workers.test_pages_in_browser import CHROMIUM_ARGS

SHOTS = ARTIFACTS / "gateway"
REDOCLY_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


async def test_docs_and_redoc_render_from_the_gateway_alone(stack):
    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is missing: `make install` installs it"
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        page = await browser.new_page()
        refused, elsewhere = csp_refusals(page), []
        page.on("request", lambda request: None if request.url.startswith(("http://127.0.0.1", "data:", "blob:"))
                else elsewhere.append(request.url))

        await page.goto(f"{stack.gateway_url}/docs")
        await page.wait_for_selector(".swagger-ui .opblock", timeout=30_000)
        await page.wait_for_selector(".swagger-ui .authorize", timeout=10_000)  # the bearer schemes
        await page.screenshot(path=str(SHOTS / "docs.png"))

        assert elsewhere == [] and refused == []

        await page.goto(f"{stack.gateway_url}/redoc")
        await page.wait_for_selector(".redoc-wrap .api-content", timeout=30_000)
        await page.screenshot(path=str(SHOTS / "redoc.png"))
        await browser.close()
    # ReDoc's side menu always shows Redocly's logo from its CDN: the docs policy refuses it (the
    # menu hides a logo that fails), so it never leaves the machine; nothing else is asked for.
    assert elsewhere == [REDOCLY_LOGO]
    assert len(refused) == 1 and REDOCLY_LOGO in refused[0]
