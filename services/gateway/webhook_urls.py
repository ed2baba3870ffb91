"""Where an upstream reports a task's completion: a URL of this gateway naming the channel (whose
secret checks the signature) and the task (so no lookup by upstream id is needed)."""
from __future__ import annotations

from urllib.parse import quote

from services.gateway.settings import GatewaySettings
from shared.channels import Channel

WEBHOOK_PREFIX = "/webhooks"


def webhook_url(settings: GatewaySettings, channel: Channel, task_id: str) -> str | None:
    """None without PUBLIC_BASE_URL: upstreams cannot reach us, the poller alone follows tasks."""
    if not settings.public_base_url:
        return None
    return (f"{settings.public_base_url.rstrip('/')}{WEBHOOK_PREFIX}/{quote(channel.kind)}/"
            f"{quote(channel.id)}?task_id={quote(task_id)}")
