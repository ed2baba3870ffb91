"""A channel guardrail through the whole system: a usage report far above the hold is captured at
the hold and flagged; the operator approves it once through the admin API and the receipt shows it."""
from __future__ import annotations

from tests.async_flow.test_async_flow import settled


async def test_a_capped_settlement_is_approved_once_through_the_admin_api(async_channel, make_client, admin,
                                                                          mongo_db):
    billing = {"mode": "per_usage", "price": 100, "precharge": 5}  # 100 quota per 1,000 tokens, 5 held
    model, channel = await async_channel(billing=billing, max_charge_multiple="3")
    client = await make_client(quota=100)
    task_id = (await client.submit(model, {"mock": {"usage": {"prompt_tokens": 400, "completion_tokens": 500}}})
               ).json()["task_id"]  # 900 tokens -> 90, eighteen times the hold
    await settled(client, model, task_id, mongo_db)
    wallet = await admin.wallet(client.user_id)
    assert (wallet["available"], wallet["used"], wallet["held"]) == (95, 5, 0)  # capped at the hold

    listed = (await admin.http.get("/admin/reviews")).json()
    mine = [row for row in listed["data"] if row["task_id"] == task_id]
    assert mine and mine[0]["channel_id"] == channel["id"], listed
    assert {k: mine[0]["review"][k] for k in ("state", "reason", "uncapped", "capped", "rest")} == {
        "state": "pending", "reason": "max_charge_multiple", "uncapped": 90, "capped": 5, "rest": 85}

    first = await admin.http.post(f"/admin/reviews/{task_id}/approve")
    again = await admin.http.post(f"/admin/reviews/{task_id}/approve")  # a retried request
    assert first.status_code == again.status_code == 200, first.text
    assert first.json() == again.json() and (first.json()["charged"], first.json()["debt"]) == (85, 0)
    opposite = await admin.http.post(f"/admin/reviews/{task_id}/dismiss")
    assert (opposite.status_code, opposite.json()["code"]) == (409, "review_decided")
    assert opposite.json()["review"]["state"] == "approved"
    missing = await admin.http.post("/admin/reviews/task_000000000000000000000000/approve")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")

    wallet = await admin.wallet(client.user_id)
    assert (wallet["available"], wallet["used"], wallet["debt"]) == (10, 90, 0)
    receipt = (await client.http.get(f"/api/task/{task_id}/receipt")).json()["receipt"]
    assert (receipt["charged"], receipt["shortfall"], receipt["debt"]) == (90, 85, 0)
    assert receipt["review"]["state"] == "approved" and receipt["ledger_entries"][-1]["id"] == f"hold_{task_id}:review"
    log = (await admin.http.get("/admin/consumption-logs", params={"user_id": client.user_id})).json()["data"][0]
    assert (log["quota"], log["review"]["state"], log["review"]["charged"]) == (5, "approved", 85)
