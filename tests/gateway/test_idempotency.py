"""`Idempotency-Key` (services/gateway/idempotency.py) is scoped to the route and model it was
first used with."""
from __future__ import annotations

from tests.async_flow.conftest import async_channel, make_client  # noqa: F401 (shared fixtures)


async def test_a_key_reused_on_another_model_is_refused(async_channel, make_client, admin) -> None:
    first_model, _ = await async_channel()
    other_model, _ = await async_channel()
    client = await make_client(quota=100)
    headers = {"Idempotency-Key": "order-42"}
    first = await client.submit(first_model, {"prompt": "x"}, headers=headers)
    assert first.status_code == 200, first.text
    elsewhere = await client.submit(other_model, {"prompt": "x"}, headers=headers)
    assert elsewhere.status_code == 409, elsewhere.text
    assert elsewhere.json()["code"] == "idempotency_key_reused"
    again = await client.submit(first_model, {"prompt": "x"}, headers=headers)
    assert again.status_code == 200 and again.json()["task_id"] == first.json()["task_id"]
    wallet = await admin.wallet(client.user_id)
    assert wallet["held"] + wallet["used"] == 10  # one task held, once


async def test_both_spellings_of_a_model_share_a_key(async_channel, make_client) -> None:
    model, _ = await async_channel()
    client = await make_client(quota=100)
    headers = {"Idempotency-Key": "order-43"}
    first = await client.submit(model, {"prompt": "x"}, headers=headers)
    again = await client.http.post(f"/pass/{model}/submit/submit", json={"prompt": "x"}, headers=headers)
    assert first.status_code == 200 and again.status_code == 200, (first.text, again.text)
    assert again.json()["task_id"] == first.json()["task_id"]
