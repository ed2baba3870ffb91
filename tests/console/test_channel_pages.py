"""The console's channel pages: archiving a channel is the admin API's delete (it stops serving at
once and leaves the list, its page says so and offers no second archive), asked for with a
confirmation box and only with the console session's CSRF token."""
from __future__ import annotations

import secrets

import httpx


async def _channel(admin, stack) -> tuple[dict, str]:
    model = f"archive-{secrets.token_hex(3)}"
    channel = await admin.create_channel(name=f"to archive {model}", kind="custompass_async", base_url=stack.upstream_url,
                                         api_key="k", models=[f"{model}/submit"], billing={"mode": "per_call", "price": 1})
    return channel, model


async def test_an_archived_channel_stops_serving_and_leaves_the_list(console, admin, stack):
    channel, model = await _channel(admin, stack)
    page = (await console.http.get(f"/admin/ui/channels/{channel['id']}")).text
    assert 'id="archive-channel"' in page and 'name="confirm" required' in page

    archived = await console.post(f"/admin/ui/channels/{channel['id']}/archive", {"confirm": "on"})
    assert archived.status_code == 303 and archived.headers["location"].startswith("/admin/ui/channels?")
    assert "notice=Channel+archived" in archived.headers["location"]

    assert (await admin.http.get(f"/admin/channels/{channel['id']}")).json()["enabled"] is False
    listed = (await console.http.get("/admin/ui/channels")).text
    assert f'data-channel="{channel["id"]}"' not in listed
    page = (await console.http.get(f"/admin/ui/channels/{channel['id']}")).text
    assert 'id="archived"' in page and 'id="archive-channel"' not in page
    user_id, key = await admin.user_with_key(quota=10)
    async with httpx.AsyncClient(base_url=stack.gateway_url, headers={"Authorization": f"Bearer {key}"},
                                 timeout=30) as client:
        refused = await client.post(f"/pass/{model}/submit", json={"prompt": "p"})
    assert refused.status_code == 404, refused.text


async def test_archiving_needs_the_session_csrf_token(console, admin, stack):
    channel, _ = await _channel(admin, stack)
    refused = await console.post(f"/admin/ui/channels/{channel['id']}/archive", {"confirm": "on"}, csrf="0" * 32)
    assert refused.status_code == 403
    assert (await admin.http.get(f"/admin/channels/{channel['id']}")).json()["enabled"] is True


async def test_archiving_a_missing_channel_is_a_404(console):
    assert (await console.post("/admin/ui/channels/ch_missing/archive", {"confirm": "on"})).status_code == 404
