"""How a webhook delivery is signed (both signatures it carries), and: a pending delivery
outlives the settlement process sending it, against the real MongoDB stand-in: a sender that
claimed it and died leaves it leased, not lost; once the lease lapses another sender delivers it
exactly once, under the same `webhook-id`, and the dead sender's late write changes nothing
(`shared.webhook_deliveries`, `services.settlement.callbacks`)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time

import httpx
import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from services.settlement.callbacks import Callbacks, signature, standard_signature
from shared.clock import stamp
from shared.task_record import Task
from shared.tasks import TaskStore
from shared.webhook_deliveries import Wanted, delivery_id
from tests.harness.api import eventually
from tests.shared.test_webhook_deliveries import deliveries  # noqa: F401 (a fixture: a private database)

KEY = secrets.token_bytes(24)
HOOK_URL = "https://hooks.example/cp"


def test_the_standard_signature_is_one_a_standard_webhooks_receiver_accepts():
    body, timestamp = b'{"task_id":"task_1","status":"completed"}', str(int(time.time()))
    headers = {"webhook-id": "msg_task_1_completed", "webhook-timestamp": timestamp,
               "webhook-signature": standard_signature(KEY, "msg_task_1_completed", timestamp, body)}
    receiver = Webhook("whsec_" + base64.b64encode(KEY).decode())
    assert receiver.verify(body, headers) == {"task_id": "task_1", "status": "completed"}
    other_id, earlier = {**headers, "webhook-id": "msg_task_2_completed"}, \
        {**headers, "webhook-timestamp": str(int(timestamp) - 1)}
    for signed, sent in ((body, other_id), (body, earlier), (body.replace(b"completed", b"failed"), headers)):
        with pytest.raises(WebhookVerificationError):
            receiver.verify(signed, sent)


def test_the_legacy_signature_is_the_hex_hmac_of_timestamp_dot_body():
    expected = hmac.new(b"legacy", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert signature("legacy", "1700000000", b"{}") == "sha256=" + expected
    assert signature("legacy", "1700000001", b"{}") != signature("legacy", "1700000000", b"{}")


@pytest.fixture
async def receiver():
    """An outbound client whose receiver answers 200 and keeps what arrived."""
    received: list[httpx.Request] = []

    def receive(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(200)
    async with httpx.AsyncClient(transport=httpx.MockTransport(receive)) as outbound:
        yield outbound, received


async def test_a_delivery_claimed_by_a_sender_that_died_is_sent_once_by_another(deliveries, receiver):  # noqa: F811
    outbound, received = receiver
    db = deliveries.deliveries.database
    task = {"_id": f"task_{secrets.token_hex(6)}", "user_id": "usr_1", "status": "SUCCESS", "progress": "100%",
            "result": {"url": "https://x/1.png"}, "callback_url": HOOK_URL, "created_at": stamp()}
    await TaskStore(db).insert(Task.from_document(task))
    await deliveries.record(Wanted(Task.from_document(task), "completed"))
    # The first sender claims it (send_due's first step) and dies before any attempt.
    [claimed] = (await deliveries.claim_due(10, lease_s=0.5, token="dead-sender")).leased
    survivor = Callbacks(TaskStore(db), deliveries, outbound, legacy_secret="legacy", signing_key=KEY, attempts=5,
                         timeout_s=5, retry_base_s=0.2, retry_cap_s=1)
    await survivor.send_due()
    assert received == []  # leased: nobody else sends it meanwhile

    async def sent_after_the_lease():
        await survivor.send_due()
        return received
    await eventually(sent_after_the_lease, timeout=10)
    await deliveries.attempted(claimed, {"at": stamp(), "error": "ReadTimeout"}, "pending", stamp())  # too late
    await survivor.send_due()
    [request] = received  # exactly once
    assert request.headers["webhook-id"] == delivery_id(task["_id"], "completed")
    body = Webhook("whsec_" + base64.b64encode(KEY).decode()).verify(request.content, dict(request.headers))
    assert body == {"task_id": task["_id"], "status": "completed", "progress": "100%", "result": task["result"]}
    [stored] = await deliveries.for_task(task["_id"])
    assert stored["state"] == "delivered" and [a.get("status_code") for a in stored["attempts"]] == [200]
    assert json.loads(request.content) == stored["body"]  # the body every attempt would send
