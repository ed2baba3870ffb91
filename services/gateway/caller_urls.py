"""URLs a caller hands the gateway to be fetched or posted to later, judged when the request
comes in by the one outbound-URL policy (`shared.outbound_urls`): a refused URL answers 400
with its own code before any task or hold exists. Settlement and the upstreams' fetches are
judged again when they connect.

`callback_url` (optional, in a JSON body on the `/pass` routes): settlement POSTs the task there
on the events `callback_events` names (`start`, `progress`, `completed`; default completed only;
`shared.webhook_deliveries`). `inputImageUrl` (Task API): the upstream downloads it.
"""
from __future__ import annotations

import json
from typing import Any

from services.gateway.errors import InvalidRequest
from shared.outbound_urls import OutboundUrlPolicy, OutboundUrlRefused
from shared.webhook_deliveries import EVENTS


async def accepted_callback_url(policy: OutboundUrlPolicy, body: bytes, max_length: int) -> str | None:
    """The body's `callback_url` once it passes; None when the body names none (or is not JSON:
    a pass-through body may be anything, and then it carries no callback)."""
    url = _field(body, "callback_url")
    if url is None:
        return None
    if not isinstance(url, str):
        raise InvalidRequest("callback_url must be a string", code="invalid_callback_url")
    try:
        await policy.check(url, max_length)
    except OutboundUrlRefused as refused:
        raise InvalidRequest(f"callback_url {refused.reason}", code="invalid_callback_url") from None
    return url


async def check_input_image_url(policy: OutboundUrlPolicy, url: str, max_length: int) -> None:
    try:
        await policy.check(url, max_length)
    except OutboundUrlRefused as refused:
        raise InvalidRequest(f"inputImageUrl {refused.reason}", code="invalid_image_url") from None


def accepted_callback_events(body: bytes, callback_url: str | None) -> list[str] | None:
    """The body's `callback_events`, a non-empty list of known events (in their canonical order);
    None when it names none (completed only, as before the filter existed)."""
    events = _field(body, "callback_events")
    if events is None:
        return None
    if callback_url is None:
        raise InvalidRequest("callback_events needs a callback_url", code="invalid_callback_events")
    if (not isinstance(events, list) or not events
            or not all(isinstance(e, str) and e in EVENTS for e in events)):
        raise InvalidRequest(f"callback_events must be a non-empty list of {', '.join(EVENTS)}",
                             code="invalid_callback_events")
    return [e for e in EVENTS if e in events]


def _field(body: bytes, name: str) -> Any:
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    return payload.get(name) if isinstance(payload, dict) else None
