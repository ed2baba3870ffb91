"""Standard Webhooks signatures (standardwebhooks.com, used by Replicate): the sender signs
`"{webhook-id}.{webhook-timestamp}.{body}"` with HMAC-SHA256 keyed by the base64 part of a
`whsec_` secret; `webhook-signature` lists `v1,<base64>` signatures separated by spaces."""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time

from shared.providers.base import WebhookRejected

SECRET_PREFIX = "whsec_"


def verify(secret: str, headers: dict[str, str], body: bytes, tolerance_s: float, now: float | None = None) -> str:
    """The delivery id (`webhook-id`) of an authentic, fresh webhook; raises WebhookRejected."""
    delivery_id, timestamp, signatures = (headers.get(h, "") for h in
                                          ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (delivery_id and timestamp and signatures):
        raise WebhookRejected("webhook-id, webhook-timestamp and webhook-signature are required")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise WebhookRejected("webhook-timestamp is not a Unix time") from None
    # A timestamp far off either way is a replay of an old delivery (or a forged clock).
    if abs((time.time() if now is None else now) - sent_at) > tolerance_s:
        raise WebhookRejected("webhook-timestamp is too old or in the future")
    expected = sign(secret, delivery_id, timestamp, body)
    for candidate in signatures.split():
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(signature.encode(), expected.encode()):
            return delivery_id
    raise WebhookRejected("webhook signature does not match")


def sign(secret: str, delivery_id: str, timestamp: str, body: bytes) -> str:
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise WebhookRejected("the channel's webhook secret is not a whsec_ secret") from None
    digest = hmac.new(key, f"{delivery_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()
