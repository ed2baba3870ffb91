"""A late result end to end (issue 21, item 5): a task the poller failed on timeout and refunded,
which the mock upstream finishes afterwards, is recorded as `late_success` with its upstream
cost, shown to its owner free under `late_result: deliver_free`, counted in reconciliation,
and the owner's wallet never moves again."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import httpx

from shared.clock import now, stamp
from tests.console.conftest import ConsoleClient
from tests.harness.api import eventually


async def test_a_late_result_is_delivered_free_with_the_wallet_unchanged(async_channel, make_client, admin, mongo_db,
                                                                        stack):
    # Fails on timeout after 1 s; the upstream finishes at 4 s, heard by the late watch (every 2 s for 20 s).
    model, channel = await async_channel(task_lifetime_s=1, late_result="deliver_free", late_watch_s=20,
                                         upstream_cost_unit={"name": "USD", "quota_per_unit": 1000})
    assert (channel["late_result"], channel["late_watch_s"]) == ("deliver_free", 20)
    client = await make_client(quota=100)
    since = stamp(now() - timedelta(seconds=1))
    submitted = await client.submit(model, {"mock": {"done_after_ms": 4000, "usage": {"cost": 0.004},
                                                     "result": {"url": "https://example.invalid/late.mp4"}}})
    assert submitted.status_code == 200, submitted.text
    task_id = submitted.json()["task_id"]

    async def refunded():
        task = await mongo_db.tasks.find_one({"_id": task_id})
        return task["settled"] and task
    failed = await eventually(refunded, timeout=30)
    assert (failed["status"], failed["fail_reason"], failed["settlement"]["refunded"]) == ("FAILURE", "timeout", 10)
    after_refund = await admin.wallet(client.user_id)
    assert (after_refund["available"], after_refund["held"], after_refund["used"]) == (100, 0, 0)

    async def late_view():
        view = (await client.fetch(model, task_id)).json()
        return "late_result" in view and view
    view = await eventually(late_view, timeout=40)
    assert (view["status"], view["error"]) == ("failed", "timeout")
    assert view["late_result"]["status"] == "late_success" and view["late_result"]["charged"] == 0
    assert view["late_result"]["result"] == {"url": "https://example.invalid/late.mp4"}
    stored = await mongo_db.tasks.find_one({"_id": task_id})
    assert stored["late_result"]["upstream_cost"] == {"amount": "0.004", "unit": "USD", "quota": 4}
    assert stored["settlement"] == failed["settlement"] and stored["status"] == "FAILURE"
    assert await mongo_db.late_watches.find_one({"_id": task_id}) is None  # the watch ended with the news
    assert await admin.wallet(client.user_id) == after_refund

    period = {"channel_id": channel["id"], "since": since, "until": stamp(now() + timedelta(seconds=1))}
    (figures,) = (await admin.http.get("/admin/reconciliation", params=period)).json()["channels"]
    assert (figures["late_success"], figures["late_success_upstream_cost"]["quota"], figures["revenue"],
            figures["margin"]) == (1, 4, 0, -4)
    exported = await admin.http.get("/admin/reconciliation", params={**period, "format": "csv"})
    (row,) = [r for r in csv.DictReader(io.StringIO(exported.text)) if r["record"] == "channel"]
    assert (row["late_success"], row["late_success_upstream_cost_quota"]) == ("1", "4")
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as http:
        assert (await ConsoleClient(http).login(stack.admin_token)).status_code == 303
        page = (await http.get("/admin/ui/reconciliation", params=period)).text
        assert 'class="late-success">1<span class="hint">4 · 0.004 USD</span>' in page
        assert "late_success" in (await http.get(f"/admin/ui/tasks/{task_id}")).text  # the operator's task page
