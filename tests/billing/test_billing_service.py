"""The billing service over the real broker and database: request/reply, redelivery, SIGKILL."""
from __future__ import annotations

import asyncio

from pymongo import AsyncMongoClient

from services.gateway.errors import BillingUnavailable
from shared.events import HoldRequested
from shared.ledger import Ledger
from shared.ledger.invariants import wallet_violations
from tests.harness.api import assert_sound_wallet, billing_client, eventually


async def test_thousand_concurrent_holds_through_kafka_place_exactly_what_is_available(stack, admin, mongo_db):
    user = await admin.create_user(quota=700)
    async with billing_client(stack.env) as (client, _):
        decisions = await asyncio.gather(*(client.hold(f"hold_k{i}", user, 1, f"task_k{i}") for i in range(1000)))
    assert sum(d.placed for d in decisions) == 700
    assert {d.reason for d in decisions if not d.placed} == {"insufficient_quota"}
    assert (await admin.wallet(user))["available"] == 0
    await assert_sound_wallet(mongo_db, user)


async def test_same_hold_request_delivered_twice_holds_once(stack, admin, mongo_db):
    user = await admin.create_user(quota=50)
    async with billing_client(stack.env) as (client, publisher):
        duplicate = HoldRequested(correlation_id="task_dup", hold_id="hold_dup", user_id=user, amount=7)
        await asyncio.gather(*(publisher.publish(duplicate) for _ in range(5)))
        decision = await client.hold("hold_dup", user, 7, "task_dup")
    assert decision.placed
    await eventually(lambda: _hold_state(mongo_db, "hold_dup", "held"))
    assert (await admin.wallet(user))["held"] == 7
    await assert_sound_wallet(mongo_db, user)


async def test_topup_through_kafka_is_idempotent(stack, admin):
    user = await admin.create_user()
    async with billing_client(stack.env) as (client, _):
        replies = await asyncio.gather(*(client.topup(f"topup:{user}:same", user, 30) for _ in range(5)))
    assert all(r["ok"] for r in replies)
    assert (await admin.wallet(user))["credited"] == 30


async def test_billing_killed_mid_stream_gives_every_hold_exactly_one_effect(make_stack, infra):
    system = make_stack(services=["billing", "gateway"])
    from tests.harness.api import AdminApi
    admin = AdminApi(system.gateway_url, system.admin_token)
    user = await admin.create_user(quota=300)
    client = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    db = client[system.env["MONGODB_DATABASE"]]
    hold_ids = [f"hold_s{i}" for i in range(500)]
    try:
        async with billing_client(system.env, timeout=60) as (_, publisher):
            for i, hold_id in enumerate(hold_ids):
                await publisher.publish(HoldRequested(correlation_id=f"task_s{i}", hold_id=hold_id,
                                                      user_id=user, amount=1))
            await eventually(lambda: db.holds.count_documents({}), timeout=30, interval=0.01)
            system["billing"].kill()  # SIGKILL while the backlog is being worked through
            system["billing"].start().wait_ready()

            async def drained():
                return await db.holds.count_documents({"state": {"$in": ["held", "rejected"]}}) == 500
            await eventually(drained, timeout=90)
        held = await db.holds.count_documents({"state": "held"})
        assert held == 300
        assert await db.holds.count_documents({"state": "rejected", "reason": "insufficient_quota"}) == 200
        await eventually(lambda: _no_violations(db, user), timeout=30)
    finally:
        await admin.close()
        await client.close()


async def test_hold_unanswered_in_time_is_a_clear_error_and_cancels(make_stack, infra):
    system = make_stack(services=["gateway", "billing"])
    from tests.harness.api import AdminApi
    admin = AdminApi(system.gateway_url, system.admin_token)
    user = await admin.create_user(quota=10)
    system["billing"].kill()
    client = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    ledger = Ledger(client[system.env["MONGODB_DATABASE"]])
    try:
        async with billing_client(system.env, timeout=0.5) as (billing, _):
            try:
                await billing.hold("hold_slow", user, 5, "task_slow")
                raise AssertionError("expected BillingUnavailable")
            except BillingUnavailable:
                pass
            await ledger.void_hold("hold_slow", user)  # what a caller does after the timeout
            system["billing"].start().wait_ready()
            late = await billing.hold("hold_slow", user, 5, "task_slow")  # the redelivered request
        assert not late.placed and late.reason == "cancelled"
        assert (await ledger.wallet(user)).available == 10
    finally:
        await admin.close()
        await client.close()


async def _hold_state(db, hold_id: str, state: str) -> bool:
    doc = await db.holds.find_one({"_id": hold_id})
    return doc is not None and doc["state"] == state


async def _no_violations(db, user: str) -> bool:
    problems = await wallet_violations(db, user)
    assert problems == [], problems
    return True
