"""Publishing a change already stored: a broker that does not take the event in time fails the
publish quickly, and the stored change stands (settlement's sweep finishes it)."""
from __future__ import annotations

import asyncio

import pytest

from services.gateway.billing_client import BillingClient
from services.gateway.errors import BillingUnavailable
from shared.kafka import EventPublisher, PublishFailed
from shared.settings import CommonSettings
from shared.status import TaskStatus
from shared.task_events import announce, status_changed
from shared.task_record import Task

SETTINGS = CommonSettings(kafka_publish_timeout_s=0.2)
TASK = Task(id="task_1", user_id="u1", status=TaskStatus.SUCCESS, progress="100%")


class DownBroker:
    """A broker that never acknowledges, as the producer sees one that is stopped."""
    async def publish(self, *args, **kwargs) -> None:
        await asyncio.Event().wait()


async def test_a_publish_the_broker_never_takes_fails_within_the_publish_timeout():
    publisher = EventPublisher(DownBroker(), SETTINGS, producer="test")
    with pytest.raises(PublishFailed):
        await asyncio.wait_for(publisher.publish(status_changed(TASK)), timeout=2)


async def test_a_stored_status_change_whose_event_is_not_taken_is_logged_not_raised(caplog):
    await asyncio.wait_for(announce(EventPublisher(DownBroker(), SETTINGS, producer="test"), TASK, TaskStatus.IN_PROGRESS),
                           timeout=2)
    assert "not published" in caplog.text


async def test_a_hold_request_the_broker_does_not_take_answers_billing_unavailable():
    client = BillingClient(SETTINGS, EventPublisher(DownBroker(), SETTINGS, producer="test"), timeout=5)
    with pytest.raises(BillingUnavailable):
        await asyncio.wait_for(client.hold("hold_task_1", "u1", 10, "task_1"), timeout=2)
