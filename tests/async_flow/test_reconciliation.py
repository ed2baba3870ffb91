"""GET /admin/reconciliation over tasks made through the mock upstream with known upstream costs
(its `usage.cost`), bad cost reports included: figures, the band, the CSV export, the bounds."""
from __future__ import annotations

import csv
import html
import io
import secrets
from datetime import timedelta

import httpx

from shared.clock import now, stamp
from tests.console.conftest import ConsoleClient
from tests.harness.api import eventually

# (mock usage.cost, outcome): quota at 1000 per USD, charged 10 per success, band [1.5, 3].
TASKS = [(0.004, "success"),   # 4 quota: ratio 2.5, inside
         (0.008, "success"),   # 8 quota: ratio 1.25, outside
         ("lots", "success"),  # not a number: ignored, counted
         (-1, "success"),      # negative: ignored, counted
         (None, "success"),    # no cost reported
         (0.002, "fail")]      # 2 quota for nothing charged: ratio 0, outside


async def test_reconciliation_of_a_channel_with_known_upstream_costs(async_channel, make_client, admin, mongo_db, stack):
    name = f'=HYPERLINK("x"), costs {secrets.token_hex(3)}'
    model, channel = await async_channel(name=name, upstream_cost_unit={"name": "USD", "quota_per_unit": 1000},
                                         expected_margin_band={"min": "1.5", "max": 3})
    assert channel["upstream_cost_unit"] == {"name": "USD", "quota_per_unit": "1000"}
    client = await make_client(quota=1000)
    since = stamp(now() - timedelta(seconds=1))
    ids = []
    for cost, outcome in TASKS:
        usage = {} if cost is None else {"cost": cost}
        response = await client.submit(model, {"mock": {"outcome": outcome, "polls_before_done": 0, "usage": usage}})
        assert response.status_code == 200, response.text
        ids.append(response.json()["task_id"])

    async def all_settled():
        return await mongo_db.tasks.count_documents({"_id": {"$in": ids}, "settled": True}) == len(ids)
    await eventually(all_settled, timeout=60)
    stored = {t["_id"]: t async for t in mongo_db.tasks.find({"_id": {"$in": ids}})}
    assert stored[ids[0]]["upstream_cost"] == {"amount": "0.004", "unit": "USD", "quota": 4}
    assert [stored[i].get("upstream_cost_error") for i in ids[2:4]] == ["not_a_number", "negative"]
    assert "upstream_cost" not in stored[ids[2]] and stored[ids[2]]["status"] == "SUCCESS"

    period = {"channel_id": channel["id"], "since": since, "until": stamp(now() + timedelta(seconds=1))}
    response = await admin.http.get("/admin/reconciliation", params=period)
    assert response.status_code == 200, response.text
    (figures,) = response.json()["channels"]
    outside = figures.pop("outside_band_tasks")
    assert figures == {
        "channel_id": channel["id"], "channel_name": name, "tasks": 6, "succeeded": 5, "failed": 1, "settled": 6,
        "unsettled": 0, "with_upstream_cost": 3, "upstream_cost_rejected": 2, "revenue": 50,
        "upstream_cost": {"amount": "0.014", "unit": "USD", "quota": 14}, "margin": 36,
        "revenue_with_upstream_cost": 20, "margin_with_upstream_cost": 6,
        "expected_margin_band": {"min": "1.5", "max": "3"}, "outside_band": 2, "outside_band_truncated": False,
        "late_success": 0, "late_success_upstream_cost": {"amount": "0", "unit": "USD", "quota": 0}}
    assert sorted((t["task_id"], t["charged"], t["ratio"]) for t in outside) == sorted(
        [(ids[1], 10, "1.250000"), (ids[5], 0, "0.000000")])

    limited = (await admin.http.get("/admin/reconciliation", params={**period, "limit": 1})).json()["channels"][0]
    assert len(limited["outside_band_tasks"]) == 1 and limited["outside_band_truncated"] is True

    exported = await admin.http.get("/admin/reconciliation", params={**period, "format": "csv"})
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [row["record"] for row in rows] == ["channel", "task", "task"]
    assert rows[0]["channel_name"] == "'" + name  # quoted for the comma and quotes, defused as a formula
    assert (rows[0]["revenue"], rows[0]["upstream_cost_quota"], rows[0]["margin"]) == ("50", "14", "36")
    assert sorted(row["task_id"] for row in rows[1:]) == sorted([ids[1], ids[5]])
    await console_shows_the_same_figures(stack, period, figures, outside, exported.text)


async def console_shows_the_same_figures(stack, period: dict, figures: dict, outside: list, exported_csv: str) -> None:
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as http:
        assert (await ConsoleClient(http).login(stack.admin_token)).status_code == 303
        page = await http.get("/admin/ui/reconciliation", params=period)
        assert page.status_code == 200, page.text
        row = page.text.split(f'<tr data-channel="{figures["channel_id"]}">')[1].split("</tr>")[0]
        assert figures["channel_name"] in html.unescape(row) and '("x")' not in row  # escaped
        for cell, value in (("revenue", 50), ("margin", 36), ("margin-known", 6), ("outside", 2)):
            assert f'class="{cell}">{value}</td>' in row, (cell, row)
        for task in outside:
            assert f'href="/admin/ui/tasks/{task["task_id"]}"' in page.text
        assert 'href="/admin/ui/reconciliation"' in page.text  # in the navigation
        assert (await http.get("/admin/ui/reconciliation.csv", params=period)).text == exported_csv
        inverted = await http.get("/admin/ui/reconciliation", params={"since": period["until"], "until": period["since"]})
        assert inverted.status_code == 400 and 'id="error"' in inverted.text
        unknown = await http.get("/admin/ui/reconciliation", params={"channel_id": "ch_missing"})
        assert unknown.status_code == 404 and "ch_missing" in unknown.text
        chinese = await http.get("/admin/ui/reconciliation", params={**period, "lang": "zh"})
        assert "对账" in chinese.text and "毛利" in chinese.text
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as http:
        assert (await http.get("/admin/ui/reconciliation")).status_code == 303  # to the login page


async def test_reconciliation_bounds_its_period_and_asks_for_admin(admin, stack):
    cases = [({"since": "2026-12-02T10:00:00Z", "until": "2026-12-01T10:00:00Z"}, 400, "invalid_period"),
             ({"since": "2026-10-01T00:00:00Z", "until": "2026-12-01T00:00:00Z"}, 400, "invalid_period"),
             ({"channel_id": "ch_missing"}, 404, "not_found")]
    for params, status, code in cases:
        response = await admin.http.get("/admin/reconciliation", params=params)
        assert (response.status_code, response.json()["code"]) == (status, code), response.text
    too_many = await admin.http.get("/admin/reconciliation", params={"limit": 5000})
    assert too_many.status_code == 422 and "code" in too_many.json(), too_many.text
    everything = await admin.http.get("/admin/reconciliation")  # every channel, the last day
    assert everything.status_code == 200 and isinstance(everything.json()["channels"], list)
    anonymous = await admin.http.get("/admin/reconciliation", headers={"Authorization": "Bearer wrong"})
    assert anonymous.status_code == 401
