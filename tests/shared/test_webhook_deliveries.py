"""Which webhooks a caller wants and the id each delivery carries; and recording them against the
real MongoDB stand-in: one insert for a batch, and a delivery recorded before (a redelivered event,
a settlement repeated after a crash) kept as it was while the batch's new ones are recorded."""
from __future__ import annotations

import dataclasses
import secrets

import pytest
from pymongo import AsyncMongoClient

from shared.status import TaskStatus
from shared.task_record import Task
from shared.webhook_deliveries import EVENTS, Wanted, WebhookDeliveries, delivery_id, wants


@pytest.fixture
async def deliveries(infra):
    client = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    yield WebhookDeliveries(client[f"webhooks_{secrets.token_hex(4)}"])
    await client.close()


def task(task_id: str, **fields) -> Task:
    return Task(id=task_id, user_id="usr_1", status=TaskStatus.SUCCESS, callback_url="https://hooks.example/cp",
                **fields)


async def test_a_batch_with_a_delivery_recorded_before_records_the_others_and_keeps_the_first(deliveries):
    await deliveries.record(Wanted(task("task_a"), "progress", {"progress": "10%"}, occurrence="s1"))
    await deliveries.record(Wanted(task("task_a"), "progress", {"progress": "99%"}, occurrence="s1"),
                            Wanted(task("task_b"), "completed"), Wanted(task("task_c"), "completed"))
    stored = {d["_id"]: d async for d in deliveries.deliveries.find({})}
    assert set(stored) == {delivery_id("task_a", "progress", "s1"), delivery_id("task_b", "completed"),
                           delivery_id("task_c", "completed")}
    assert stored[delivery_id("task_a", "progress", "s1")]["body"] == {"progress": "10%"}
    assert {d["state"] for d in stored.values()} == {"pending"}


async def test_recording_nothing_writes_nothing(deliveries):
    await deliveries.record()
    assert await deliveries.deliveries.count_documents({}) == 0


def test_a_caller_gets_completed_webhooks_unless_they_chose_other_events():
    assert wants(task("task_a"), "completed") and not wants(task("task_a"), "progress")
    chosen = task("task_a", callback_events=["start", "progress"])
    assert wants(chosen, "progress") and not wants(chosen, "completed")


def test_a_task_without_a_callback_url_wants_nothing():
    assert not any(wants(dataclasses.replace(task("task_a", callback_events=list(EVENTS)), callback_url=url), event)
                   for url in (None, "") for event in EVENTS)


def test_a_delivery_id_names_its_task_event_and_occurrence():
    assert delivery_id("task_a", "completed") == "msg_task_a_completed"
    assert delivery_id("task_a", "progress", "s1") == "msg_task_a_progress_s1"
    assert delivery_id("task_a", "progress", "s1") != delivery_id("task_a", "progress", "s2")
