"""Task receipts (`shared.task_receipts`) through the whole system: signed, equal to the ledger's
entries and the wallet's change, only for the owner, 409 before settlement."""
from __future__ import annotations

import hashlib
import hmac
import json

import httpx

from tests.async_flow.test_async_flow import settled
from tests.console.conftest import ConsoleClient
from tests.harness.stack import TEST_ENV


def signature_checks(answer: dict) -> bool:
    """The check a customer writes (docs/client-api.md), independent of the gateway's code."""
    canonical = json.dumps(answer["receipt"], sort_keys=True, separators=(",", ":")).encode()
    expected = hmac.new(TEST_ENV["TASK_RECEIPT_SIGNING_KEY"].encode(), canonical, hashlib.sha256).hexdigest()
    return answer["signature"]["key_id"] == TEST_ENV["TASK_RECEIPT_KEY_ID"] and hmac.compare_digest(
        expected, answer["signature"]["value"])


async def test_a_receipt_is_signed_and_equals_the_ledger_and_the_wallet(async_channel, make_client, admin, mongo_db,
                                                                       stack):
    billing = {"mode": "per_usage", "price": 100, "precharge": 5}  # 100 quota per 1,000 tokens, 5 held
    model, channel = await async_channel(billing=billing)
    client = await make_client(quota=100)
    task_id = (await client.submit(model, {"mock": {"usage": {"prompt_tokens": 40, "completion_tokens": 50}}})
               ).json()["task_id"]
    await settled(client, model, task_id, mongo_db)
    answer = (await client.http.get(f"/pass/{model}/task/{task_id}/receipt")).json()
    assert signature_checks(answer), answer
    receipt = answer["receipt"]
    hold_id = f"hold_{task_id}"
    entries = {e["_id"]: e async for e in mongo_db.ledger.find({"_id": {"$regex": f"^{hold_id}"}})}
    assert [e["id"] for e in receipt["ledger_entries"]] == [hold_id, f"{hold_id}:capture"] == list(entries)
    placed, captured = entries[hold_id], entries[f"{hold_id}:capture"]
    assert receipt["hold"] == {"id": hold_id, "amount": 5} and placed["held"] == 5 and placed["available"] == -5
    assert (receipt["outcome"], receipt["cost"], receipt["charged"], receipt["refunded"], receipt["shortfall"],
            receipt["debt"]) == ("captured", 9, 9, 0, 4, 0)  # 90 tokens -> 9, 4 beyond the hold
    assert captured["used"] == receipt["charged"] and captured["held"] == -5
    assert captured["available"] == receipt["refunded"] - receipt["shortfall"] and captured["debt"] == receipt["debt"]
    wallet = await admin.wallet(client.user_id)
    assert (wallet["credited"] - wallet["available"], wallet["used"], wallet["held"]) == (receipt["charged"],) * 2 + (0,)
    stored = await mongo_db.tasks.find_one({"_id": task_id})
    assert receipt["pricing"] == stored["billing"] and billing.items() <= receipt["pricing"].items()  # as at submit
    assert receipt["units"] == "90" and receipt["usage"]["total_tokens"] == 90
    assert receipt["task_id"] == receipt["consumption_log_id"] == task_id and receipt["channel_id"] == channel["id"]
    assert receipt["submitted_at"] <= receipt["finished_at"] <= receipt["settled_at"]
    log = (await client.http.get("/api/logs")).json()["data"][0]
    assert log["receipt"] == f"/api/task/{task_id}/receipt"
    assert (await client.http.get(log["receipt"])).json() == answer  # the same bytes signed on both routes
    operator_log = (await admin.http.get("/admin/consumption-logs", params={"user_id": client.user_id})).json()
    assert operator_log["data"][0]["receipt"] == log["receipt"]
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as http:  # the console links it
        assert (await ConsoleClient(http).login(stack.admin_token)).status_code == 303
        page = await http.get("/admin/ui/logs", params={"user_id": client.user_id})
        assert f'href="/admin/ui/tasks/{task_id}/receipt"' in page.text
        assert (await http.get(f"/admin/ui/tasks/{task_id}/receipt")).json() == answer
        assert log["receipt"] in (await http.get("/admin/ui/logs.csv", params={"user_id": client.user_id})).text


async def test_a_receipt_is_only_the_owners_and_only_once_settled(async_channel, make_client, mongo_db):
    model, _ = await async_channel(poll_interval_s=5, task_lifetime_s=60)  # stays processing: few polls
    client = await make_client(quota=100)
    task_id = (await client.submit(model, {"mock": {"outcome": "never"}})).json()["task_id"]
    for path in (f"/pass/{model}/task/{task_id}/receipt", f"/api/task/{task_id}/receipt"):
        early = await client.http.get(path)
        assert early.status_code == 409 and early.json()["code"] == "receipt_not_ready", early.text
    other = await make_client(quota=100)
    foreign = await other.http.get(f"/pass/{model}/task/{task_id}/receipt")
    assert (foreign.status_code, foreign.json()) == (404, {"code": "task_not_found", "message": f"task {task_id} not found"})
    foreign = await other.http.get(f"/api/task/{task_id}/receipt")
    missing = await other.http.get("/api/task/task_000000000000000000000000/receipt")
    assert (foreign.status_code, foreign.json()) == (missing.status_code, missing.json()) and missing.status_code == 404
