"""A CustomPass channel's `caller_token` choice: what its upstream learns about the caller, on
the sync (`POST /pass/{model}`) and the async (`POST /pass/{model}/submit`) path alike. The
default, `user_ref`, tells users apart without handing the upstream a credential."""
from __future__ import annotations

import httpx
import pytest

from shared.upstream.caller_token import user_ref
from tests.async_flow.conftest import async_channel  # noqa: F401 (shared fixture)

PATHS = ("sync", "async")


@pytest.fixture
def call_through(sync_channel, async_channel, upstream):  # noqa: F811
    """Makes one call on a fresh channel of the path; returns the headers its upstream received."""
    async def call(path: str, client, **channel) -> dict[str, str]:
        if path == "sync":
            model, _ = await sync_channel(**channel)
            response, recorded = await client.http.post(f"/pass/{model}", json={}), f"/{model}"
        else:
            model, _ = await async_channel(**channel)
            response, recorded = await client.submit(model, {}), f"{model}/submit"
        assert response.status_code == 200, response.text
        [record] = (await upstream.get("/_mock/requests", params={"path_contains": recorded})).json()
        return record["headers"]
    return call


@pytest.mark.parametrize("path", PATHS)
async def test_by_default_the_upstream_gets_a_stable_per_user_reference_not_the_key(
        path, call_through, make_client, stack):
    alice, bob = await make_client(), await make_client()
    first, again, other = (await call_through(path, alice), await call_through(path, alice),
                           await call_through(path, bob))
    ref = first["x-custom-token"]
    assert ref == user_ref(alice.user_id, stack.env["USER_REF_SECRET"]) and ref.startswith("uref_")
    assert again["x-custom-token"] == ref and other["x-custom-token"] != ref
    assert alice.key not in ref and alice.user_id not in ref


@pytest.mark.parametrize("path", PATHS)
async def test_user_ref_named_explicitly_is_the_same_reference(path, call_through, make_client, stack):
    client = await make_client()
    headers = await call_through(path, client, caller_token="user_ref", token_header="X-End-User")
    assert headers["x-end-user"] == user_ref(client.user_id, stack.env["USER_REF_SECRET"])
    assert "x-custom-token" not in headers


@pytest.mark.parametrize("path", PATHS)
async def test_key_forwards_the_callers_own_api_key(path, call_through, make_client):
    client = await make_client()
    assert (await call_through(path, client, caller_token="key"))["x-custom-token"] == client.key


@pytest.mark.parametrize("path", PATHS)
async def test_none_sends_no_caller_token_at_all(path, call_through, make_client):
    client = await make_client()
    headers = await call_through(path, client, caller_token="none")
    assert "x-custom-token" not in headers and headers["authorization"] == "Bearer upstream-secret"


async def test_a_user_ref_is_no_credential_here(call_through, make_client, stack):
    client = await make_client()
    ref = (await call_through("sync", client))["x-custom-token"]
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as http:
        replayed = await http.get("/api/wallet", headers={"Authorization": f"Bearer {ref}"})
    assert replayed.status_code == 401


async def test_the_channel_api_shows_and_validates_the_choice(sync_channel, admin):
    _, channel = await sync_channel(caller_token="none")
    assert channel["caller_token"] == "none"
    changed = await admin.http.put(f"/admin/channels/{channel['id']}", json={"caller_token": "key"})
    assert changed.status_code == 200 and changed.json()["caller_token"] == "key"
    refused = await admin.http.put(f"/admin/channels/{channel['id']}", json={"caller_token": "jwt"})
    assert refused.status_code == 422
