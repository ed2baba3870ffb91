"""Standard Webhooks signatures, checked against the specification's published example."""
from __future__ import annotations

import pytest

from shared.providers.base import WebhookRejected
from shared.providers.standard_webhooks import verify

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BODY = b'{"test": 2432232314}'
HEADERS = {"webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp": "1614265330",
           "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="}


def test_published_example_is_authentic():
    assert verify(SECRET, HEADERS, BODY, tolerance_s=300, now=1614265330 + 10) == "msg_p5jXN8AQM9LWM0D4loKWxJek"


def test_any_listed_v1_signature_may_match():
    headers = HEADERS | {"webhook-signature": "v1,bm90IGl0 " + HEADERS["webhook-signature"]}
    assert verify(SECRET, headers, BODY, tolerance_s=300, now=1614265330)


@pytest.mark.parametrize("change", [
    {"body": b'{"test": 2432232315}'},
    {"webhook-id": "msg_other"},
    {"webhook-signature": "v2," + HEADERS["webhook-signature"][3:]},
    {"webhook-signature": ""},
    {"webhook-timestamp": "yesterday"},
    {"secret": "whsec_" + "QUJD" * 8},
    {"secret": "whsec_not base64!"},
    {"now": 1614265330 + 301},
    {"now": 1614265330 - 301},
])
def test_anything_else_is_rejected(change):
    body, secret, now = change.pop("body", BODY), change.pop("secret", SECRET), change.pop("now", 1614265330)
    with pytest.raises(WebhookRejected):
        verify(secret, HEADERS | change, body, tolerance_s=300, now=now)
