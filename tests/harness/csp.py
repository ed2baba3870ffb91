"""What a browser test asks of a page under the gateway's Content-Security-Policy: that nothing it
loads or runs was refused (a refused script or style means the page is broken, not merely strict)."""
from __future__ import annotations

from playwright.async_api import Page


def csp_refusals(page: Page) -> list[str]:
    """Every refusal Chromium reports in this tab from now on, across navigations (it reports
    them on the console: "... violates the following Content Security Policy directive ...")."""
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    return refused
