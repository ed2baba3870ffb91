"""URLs a caller hands the gateway to be fetched or posted to later, judged when the request
comes in by the one outbound-URL policy (`shared.outbound_urls`): a refused URL answers 400
with its own code before any task or hold exists. Settlement and the upstreams' fetches are
judged again when they connect.

`callback_url` (optional: in a JSON body on the `/pass` routes, a field of `/api/task/create`
and `/api/openai`): settlement POSTs the task there on the events `callback_events` names
(`start`, `progress`, `completed`; default completed only; `shared.webhook_deliveries`).
`inputImageUrl` (Task API): the upstream downloads it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from services.gateway.errors import InvalidRequest
from shared.outbound_urls import OutboundUrlPolicy, OutboundUrlRefused
from shared.webhook_deliveries import EVENTS


async def accepted_callback_url(policy: OutboundUrlPolicy, body: bytes, max_length: int) -> str | None:
    """The body's `callback_url` once it passes; None when the body names none (or is not JSON:
    a pass-through body may be anything, and then it carries no callback)."""
    return await _accepted_url(policy, _field(body, "callback_url"), max_length)


async def _accepted_url(policy: OutboundUrlPolicy, url: Any, max_length: int) -> str | None:
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


@dataclass(frozen=True)
class Webhook:
    """A caller's webhook, once accepted: where, and on which events (None: completed only)."""
    url: str | None = None
    events: list[str] | None = None

    def fields(self) -> dict[str, Any]:
        """What the task stores of it (`callback_url` is always a task field; see `new_task`)."""
        return {"callback_events": self.events} if self.events else {}


async def accepted_webhook(policy: OutboundUrlPolicy, url: Any, events: Any, max_length: int) -> Webhook:
    """A `callback_url` and `callback_events` given as fields (the Task API, dispatch)."""
    accepted = await _accepted_url(policy, url, max_length)
    return Webhook(accepted, _accepted_events(events, accepted))


async def webhook_in_body(policy: OutboundUrlPolicy, body: bytes, max_length: int) -> Webhook:
    """The same two named in a JSON body (the `/pass` submit forwards its body as it is)."""
    return await accepted_webhook(policy, _field(body, "callback_url"), _field(body, "callback_events"), max_length)


def _accepted_events(events: Any, callback_url: str | None) -> list[str] | None:
    """A non-empty list of known events (in their canonical order); None when none is named
    (completed only, as before the filter existed)."""
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
