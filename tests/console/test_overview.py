"""The console's overview: figures from the settlement counters, live work and cooling channels
(checked on a database of its own), the page's figures for tasks this test made through the
stack, and its charts drawn in headless Chromium under the page's Content-Security-Policy."""
from __future__ import annotations

import re
import secrets
from pathlib import Path

import httpx
import pytest
from pymongo import AsyncMongoClient

from services.gateway.console import overview_pages
from services.gateway.console.i18n import ZH
from services.gateway.console.overview import read_overview
from services.gateway.console.overview_pages import CHART_LABELS, PERIOD_NAMES, STATUS_NAMES
from services.gateway.security_headers import CONSOLE_CHARTS
from shared.clock import now, stamp, stamp_in
from shared.hourly_stats import count_settled
from shared.ids import hold_id_for
from shared.ledger import SettleOutcome
from shared.status import TaskStatus
from shared.task_record import Task
from tests.harness.api import AdminApi, eventually
from tests.harness.csp import csp_refusals
from tests.console.test_console_browser import page, shot  # noqa: F401 (the browser fixture)

PRICE = 1_000_000  # above what any other test of the session spends, so this test's rows rank first


@pytest.fixture
async def db(infra):
    client = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    yield client[f"overview_{secrets.token_hex(4)}"]
    await client.close()


def settled(task_id: str, status: str, model: str, user: str, charged: int) -> tuple[Task, SettleOutcome]:
    task = Task(id=task_id, user_id=user, model=model, channel_id="ch_a", status=TaskStatus(status), finished_at=stamp())
    return task, SettleOutcome(hold_id_for(task_id), "captured", 10, charged, 10 - charged, 0)


async def test_the_overview_reads_counters_live_work_and_cooling_channels(db):
    await db.users.insert_one({"_id": "usr_a", "name": "Alice"})
    await db.channels.insert_many([
        {"_id": "ch_a", "name": "main", "kind": "replicate", "cooldown_until": stamp_in(60)},
        {"_id": "ch_b", "name": "rested", "kind": "replicate", "cooldown_until": stamp_in(-60)}])
    await count_settled(db, [settled("t1", "SUCCESS", "m", "usr_a", 6), settled("t2", "SUCCESS", "m", "usr_a", 6),
                             settled("t3", "FAILURE", "n", "usr_a", 0)])
    await db.tasks.insert_many([{"_id": "t4", "status": "IN_PROGRESS"}, {"_id": "t5", "status": "QUEUED"},
                                {"_id": "t1", "status": "SUCCESS"}])
    await db.dispatch_queue.insert_many([{"_id": "t5", "group": "gpu", "enqueued_ms": 1},
                                         {"_id": "t6", "group": "gpu", "enqueued_ms": 2}])
    for period in ("today", "7d", "30d"):
        o = await read_overview(db, period)
        assert (o.total.tasks, o.total.charged, o.total.refunded) == (3, 12, 18)
        assert o.total.status == {"SUCCESS": 2, "FAILURE": 1} and o.success_rate == pytest.approx(2 / 3)
        assert [(m.name, m.totals.tasks, m.totals.charged) for m in o.models] == [("m", 2, 12), ("n", 1, 0)]
        assert [(c.name, c.totals.tasks) for c in o.channels] == [("main", 3)]
        assert [(u.key, u.name, u.totals.charged) for u in o.users] == [("usr_a", "Alice", 12)]
        assert (o.in_flight, o.queues, [c.name for c in o.cooling]) == (2, {"gpu": 2}, ["main"])
        assert sum(point["success"] for point in o.series) == 2
        assert len(o.series) == {"today": now().hour + 1, "7d": 7, "30d": 30}[period]


def test_every_phrase_of_the_overview_has_its_chinese():
    template = (Path(overview_pages.__file__).parent / "templates" / "overview.html").read_text()
    phrases = set(re.findall(r't\("([^"]+)"\)', template)) | set(re.findall(r"t\('([^']+)'\)", template))
    phrases |= {*PERIOD_NAMES.values(), *STATUS_NAMES.values(), *CHART_LABELS.values()}
    assert sorted(p for p in phrases if p not in ZH) == []


@pytest.fixture(scope="module")
async def made(stack):
    """Two succeeded and one failed task of a new user on a new model, all settled."""
    admin = AdminApi(stack.gateway_url, stack.admin_token)
    model = f"overview-{secrets.token_hex(3)}"
    channel = await admin.create_channel(name=f"overview {model}", kind="custompass_async", base_url=stack.upstream_url,
                                         api_key="k", models=[model], billing={"mode": "per_call", "price": PRICE},
                                         poll_interval_s=0.2)
    user_id, key = await admin.user_with_key(quota=10 * PRICE, name=f"overview user {model}")
    async with httpx.AsyncClient(base_url=stack.gateway_url, headers={"Authorization": f"Bearer {key}"},
                                 timeout=30) as client:
        for outcome in ("success", "success", "fail"):
            answer = await client.post(f"/pass/{model}/submit", json={"prompt": "p", "mock": {"outcome": outcome}})
            assert answer.status_code == 200, answer.text

    async def all_settled():
        wallet = await admin.wallet(user_id)
        return wallet["held"] == 0 and wallet["used"] == 2 * PRICE
    await eventually(all_settled, timeout=60, interval=0.3)
    await admin.close()
    return {"model": model, "user_id": user_id, "channel_id": channel["id"], "name": f"overview user {model}"}


def row(html: str, table: str, key: str) -> list[str]:
    section = html.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    cells = section.split(f'data-key="{key}"', 1)[1].split("</tr>", 1)[0]
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", cells, re.S)]


async def test_the_overview_counts_the_tasks_this_test_made(made, console):
    for lang in ("en", "zh"):
        page = await console.http.get("/admin/ui/overview", params={"period": "today", "lang": lang})
        assert page.status_code == 200
        assert page.headers["content-security-policy"] == CONSOLE_CHARTS  # its own script files, nothing inline
        html = page.text
        assert re.findall(r"<script(?![^>]*\bsrc=)|<[^>]*\son[a-z]+\s*=", html, re.I) == []
        figures = ["3", "1", str(2 * PRICE), str(PRICE)]  # tasks, failed, spent, refunded
        assert row(html, "top-models", made["model"]) == [made["model"], *figures]
        assert row(html, "top-users", made["user_id"]) == [made["name"], *figures]
        assert row(html, "top-channels", made["channel_id"]) == [f"overview {made['model']}", *figures]
        assert f'href="/admin/ui/users/{made["user_id"]}"' in html
        assert f'href="/admin/ui/channels/{made["channel_id"]}"' in html
        assert ("概览" in html) == (lang == "zh") and ("成功率" in html) == (lang == "zh")
    assert (await console.http.get("/admin")).headers["location"] == "/admin/ui/overview"


PAINTED = """(selector) => {
  const canvas = document.querySelector(selector + " canvas");
  if (!canvas || !canvas.width) return false;
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i]) painted++;
  return painted > 500;
}"""


async def test_the_overview_draws_its_charts_in_a_browser(made, page, stack):
    refused = csp_refusals(page)
    await page.goto(f"{stack.gateway_url}/admin")
    await page.fill("#token", stack.admin_token)
    await page.click("#login")
    await page.wait_for_url("**/admin/ui/overview")
    await page.wait_for_function("() => document.body.dataset.chartsDrawn === '2'", timeout=15_000)
    for chart in ("#chart-series", "#chart-models"):
        await page.wait_for_function(PAINTED, arg=chart, timeout=15_000)
    assert made["model"] in await page.inner_text("#top-models")
    await shot(page, "overview")
    await page.click("#period-7d")
    await page.wait_for_function("() => document.body.dataset.chartsDrawn === '2'", timeout=15_000)
    await page.goto(f"{stack.gateway_url}/admin/ui/overview?period=30d&lang=zh")
    await page.wait_for_function(PAINTED, arg="#chart-series", timeout=15_000)
    assert "概览" in await page.inner_text("h1")
    await shot(page, "overview-30d-zh")
    assert refused == []
