"""Where an upstream reports a task's completion: a URL of this gateway naming the channel (whose
secret checks the signature) and the task (so no lookup by upstream id is needed)."""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

from services.gateway.settings import GatewaySettings

WEBHOOK_PREFIX = "/webhooks"


def webhook_url(settings: GatewaySettings, channel: dict[str, Any], task_id: str) -> str | None:
    """None without PUBLIC_BASE_URL: upstreams cannot reach us, the poller alone follows tasks."""
    if not settings.public_base_url:
        return None
    return (f"{settings.public_base_url.rstrip('/')}{WEBHOOK_PREFIX}/{quote(channel['kind'])}/"
            f"{quote(channel['_id'])}?task_id={quote(task_id)}")
