"""A sync call records the upstream's `usage.cost` on its task in the channel's unit, and a cost
that cannot be believed is ignored and named, the call answered and settled all the same."""
from __future__ import annotations


async def test_sync_call_records_the_upstream_cost_and_ignores_a_bad_one(sync_channel, make_client, settled_call):
    model, _ = await sync_channel(upstream_cost_unit={"name": "USD", "quota_per_unit": 500000})
    client = await make_client(quota=100)
    good = await client.http.post(f"/pass/{model}", json={"mock": {"usage": {"cost": 0.00002}}})
    assert good.status_code == 200, good.text
    task, _ = await settled_call(good)
    assert task["upstream_cost"] == {"amount": "0.00002", "unit": "USD", "quota": 10}
    bad = await client.http.post(f"/pass/{model}", json={"mock": {"usage": {"cost": "free!"}}})
    assert bad.status_code == 200, bad.text
    task, log = await settled_call(bad)
    assert task["status"] == "SUCCESS" and "upstream_cost" not in task
    assert task["upstream_cost_error"] == "not_a_number" and log["status"] == "SUCCESS"
