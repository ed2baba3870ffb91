"""The console's channel pages: every field of a channel, its webhook secret, upstream cost,
guardrails and late-result policy included, is set through the form and read back from the admin
API (a secret never shown again); archiving a channel is the admin API's delete (it stops serving at
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


async def test_a_replicate_channel_with_every_field_made_in_the_console_is_what_the_api_answers(console, admin, stack):
    model = f"replicate-{secrets.token_hex(3)}"
    form = {"name": f"rep {model}", "kind": "replicate", "base_url": stack.upstream_url, "api_key": "r8_key",
            "webhook_secret": "whsec_c2VjcmV0", "models": model, "billing_mode": "per_usage", "billing_price": "40",
            "billing_usage_field": "seconds", "enabled": "on", "upstream_cost_unit_name": "USD",
            "upstream_cost_unit_quota_per_unit": "500000", "upstream_cost_per_second": "0.000975",
            "expected_margin_band_min": "1.2", "expected_margin_band_max": "4", "max_charge": "5000",
            "max_charge_multiple": "3", "late_result": "deliver_free", "late_watch_s": "900"}
    created = await console.post("/admin/ui/channels/new", form)
    assert created.status_code == 303, created.text
    channel_id = created.headers["location"].split("?")[0].rsplit("/", 1)[-1]
    stored = (await admin.http.get(f"/admin/channels/{channel_id}")).json()
    assert stored["webhook_secret_set"] is True and "whsec_c2VjcmV0" not in str(stored)
    assert stored["upstream_cost_unit"] == {"name": "USD", "quota_per_unit": "500000"}
    assert (stored["upstream_cost_per_second"], stored["max_charge"], stored["max_charge_multiple"]) == ("0.000975", 5000, "3")
    assert stored["expected_margin_band"] == {"min": "1.2", "max": "4"}
    assert (stored["late_result"], stored["late_watch_s"]) == ("deliver_free", 900.0)
    page = (await console.http.get(f"/admin/ui/channels/{channel_id}")).text
    assert "whsec_c2VjcmV0" not in page and 'name="upstream_cost_per_second" value="0.000975"' in page

    refused = await console.post(f"/admin/ui/channels/{channel_id}", {
        "name": f"rep {model}", "models": model, "expected_margin_band_min": "5", "expected_margin_band_max": "2"})
    assert refused.status_code == 422 and "min &lt;= max" in refused.text
