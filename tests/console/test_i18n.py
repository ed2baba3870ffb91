"""services/gateway/console/i18n.py: every phrase a console page shows has its Chinese, and the
task page shows billing terms as labelled rows. Read off the templates and modules themselves, so
a phrase added in English alone fails here (no stack: the pages in a browser are in
test_console_browser.py)."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from services.gateway.console import i18n, overview_pages, task_pages
from services.gateway.console.i18n import ZH, translate
from services.gateway.console.pages import templates
from shared.task_record import Task

CONSOLE = Path(i18n.__file__).parent
TEMPLATES = sorted((CONSOLE / "templates").glob("*.html"))
T_LITERAL = re.compile(r"""\bt\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')\s*\)""")
JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
# Words a page may show in English in both languages: names and units, not phrases.
NOT_TRANSLATED = {"CustomPass", "English", "USD", "UTC", "ID", "ms"}


def literals(text: str) -> set[str]:
    return {m.group(1) if m.group(1) is not None else m.group(2) for m in T_LITERAL.finditer(text)}


class TextNodes(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("script", "style")

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.texts.append(data.strip())


def text_nodes(html: str) -> list[str]:
    parser = TextNodes()
    parser.feed(html)
    return parser.texts


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_every_phrase_a_template_translates_has_its_chinese(template: Path):
    missing = sorted(p for p in literals(template.read_text()) if p not in ZH)
    assert missing == []


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_no_template_shows_english_outside_t(template: Path):
    """Text between the tags, once Jinja's expressions are gone, is punctuation and names only."""
    words = {w for text in text_nodes(JINJA.sub(" ", template.read_text()))
             for w in re.findall(r"[A-Za-z]{2,}", text)} - NOT_TRANSLATED
    assert words == set(), f"{template.name}: wrap these in t(...) and add them to i18n.ZH"


def test_phrases_the_modules_hand_to_the_pages_have_their_chinese():
    sources = "\n".join(p.read_text() for p in CONSOLE.glob("*.py"))
    messages = set(re.findall(r"""(?:\b(?:notice|error)=|"outcome": )["']([^"']+)["']\s*[,)]""", sources))
    assert {"Saved", "Topped up", "Wrong admin token", "No base URL to call"} <= messages
    named = [*overview_pages.PERIOD_NAMES.values(), *overview_pages.STATUS_NAMES.values(),
             *overview_pages.CHART_LABELS.values(), *i18n.BILLING_MODES.values(), *i18n.USER_STATUSES.values(),
             *i18n.FIELD_LABELS.values(), *(label for label, _ in task_pages.HISTORY)]
    assert sorted(p for p in [*messages, *named] if p not in ZH) == []


TASK = Task.from_document({
    "_id": "t-1", "user_id": "u-1", "model": "m", "channel_id": "c-1", "channel_kind": "custompass_async",
    "mode": "async", "status": "IN_PROGRESS", "hold_amount": 12, "created_at": "2026-12-02T10:00:00Z",
    "billing": {"mode": "per_usage", "price": 4, "precharge": None, "usage_field": "seconds", "price_ratio": 1.5}})


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_task_page_shows_billing_as_labelled_rows(lang: str):
    billing = task_pages.billing_terms(TASK, lang)
    html = templates.env.get_template("task.html").render(
        t=lambda text: translate(lang, text), lang=lang, csrf="", logged_in=True, task=TASK, log=None,
        history=[("2026-12-02T10:00:00Z", "created")], upstream={}, pass_status="processing", billing=billing,
        names={"user_id": {}, "channel_id": {}, "key_id": {}})
    assert "{'mode'" not in html and "price_ratio" not in html
    rows = dict(re.findall(r"<tr><th>([^<]+)</th><td>([^<]*)</td></tr>",
                           html.split('id="billing">', 1)[1].split("</table>", 1)[0]))
    tr = lambda text: translate(lang, text)  # noqa: E731
    assert rows == {tr("Billing mode"): tr("Per usage"), tr("Price"): f"4 {tr('quota per 1,000 usage units')}",
                    tr("Usage field"): "seconds", tr("Precharge"): tr("default: the price (per call) or 0"),
                    tr("Price ratio"): "× 1.5", tr("Hold"): "12"}
    if lang == "zh":
        english = {text for text in text_nodes(html) if text in ZH and ZH[text] != text}
        assert english == set()


def test_free_and_unknown_terms_still_read():
    free = Task.from_document({"_id": "t-2", "user_id": "u-1", "status": "SUCCESS", "hold_amount": 0,
                               "billing": {"mode": "free", "tiers": [1, 2]}})
    rows = task_pages.billing_terms(free, "en")
    assert rows == [("Billing mode", "Free"), ("Price ratio", "× 1"), ("Hold", 0), ("tiers", "[1, 2]")]
