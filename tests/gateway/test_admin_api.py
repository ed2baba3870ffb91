"""Contract tests of the gateway's admin API (users, API keys, top-ups, wallets, channels) and of
`GET /api/wallet`, against the real gateway and billing processes of the session stack."""
from __future__ import annotations

import asyncio
import json
import secrets
from datetime import datetime

import httpx
import pytest

from tests.harness.api import AdminApi, assert_sound_wallet, eventually

WALLET_FIELDS = {"available", "held", "used", "credited"}
HUGE = 10**30  # far beyond int64: must be refused, never reach MongoDB or billing

ADMIN_ROUTES = [
    ("POST", "/admin/users", {"name": "intruder", "quota": 5}),
    ("GET", "/admin/users/{user}", None),
    ("PATCH", "/admin/users/{user}", {"status": "disabled"}),
    ("POST", "/admin/users/{user}/api-keys", {"name": "stolen"}),
    ("PATCH", "/admin/users/{user}/api-keys/{key}", {"enabled": False}),
    ("POST", "/admin/users/{user}/topup", {"amount": 5, "request_id": "intruder"}),
    ("GET", "/admin/users/{user}/wallet", None),
    ("POST", "/admin/channels", {"name": "evil", "kind": "worker", "models": ["evil-model"]}),
    ("GET", "/admin/channels", None),
    ("GET", "/admin/channels/{channel}", None),
    ("PUT", "/admin/channels/{channel}", {"enabled": False}),
    ("GET", "/admin/users", None),
    ("GET", "/admin/users/{user}/api-keys", None),
    ("DELETE", "/admin/users/{user}/api-keys/{key}", None),
    ("DELETE", "/admin/channels/{channel}", None),
]
BAD_CREDENTIALS = {
    "missing": {},
    "wrong_token": {"Authorization": "Bearer not-the-admin-token"},
    "wrong_scheme": {"Authorization": "Basic {admin}"},
    "token_without_scheme": {"Authorization": "{admin}"},
    "bearer_without_token": {"Authorization": "Bearer"},
    "user_api_key": {"Authorization": "Bearer {user_key}"},
}


def assert_error(response: httpx.Response, *statuses: int) -> dict:
    """Every error: an expected status and a `{"code": stable int or str, "message": str}` body."""
    assert response.status_code in statuses, (response.status_code, response.text)
    body = response.json()
    assert isinstance(body, dict), body
    assert isinstance(body.get("code"), (int, str)) and not isinstance(body["code"], bool), body
    assert body["code"] != "", body
    assert isinstance(body.get("message"), str) and body["message"], body
    return body


def channel_fields(**overrides) -> dict:
    fields = {"name": f"video-x-{secrets.token_hex(4)}", "kind": "custompass_async", "base_url": "http://upstream.invalid/v1",
              "api_key": f"sk-{secrets.token_hex(8)}", "models": [f"model-{secrets.token_hex(4)}"],
              "billing": {"mode": "per_call", "price": 10}, "timeout_s": 20}
    return {**fields, **overrides}


async def topup(admin: AdminApi, user_id: str, amount: int, request_id: str) -> httpx.Response:
    return await admin.http.post(f"/admin/users/{user_id}/topup", json={"amount": amount, "request_id": request_id})


def client_for(stack, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=stack.gateway_url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


async def my_wallet(stack, key: str) -> httpx.Response:
    async with client_for(stack, key) as client:
        return await client.get("/api/wallet")


@pytest.fixture(scope="module")
async def targets(stack):
    """Real ids for path parameters, so an auth failure cannot hide behind a 404."""
    api = AdminApi(stack.gateway_url, stack.admin_token)
    user_id, user_key = await api.user_with_key(quota=10)
    key_id = (await api.http.post(f"/admin/users/{user_id}/api-keys", json={"name": "k2"})).json()["id"]
    channel = await api.create_channel(**channel_fields())
    yield {"user": user_id, "key": key_id, "channel": channel["id"], "user_key": user_key,
           "admin": stack.admin_token}
    await api.close()


# --- authentication ----------------------------------------------------------------------------

@pytest.mark.parametrize("credentials", BAD_CREDENTIALS, ids=list(BAD_CREDENTIALS))
@pytest.mark.parametrize("method,path,body", ADMIN_ROUTES, ids=[f"{m} {p}" for m, p, _ in ADMIN_ROUTES])
async def test_admin_route_without_the_admin_token_is_401_and_changes_nothing(
        stack, admin, targets, method, path, body, credentials):
    headers = {k: v.format(**targets) for k, v in BAD_CREDENTIALS[credentials].items()}
    before = await admin.wallet(targets["user"])
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as anonymous:
        response = await anonymous.request(method, path.format(**targets), json=body, headers=headers)
    assert_error(response, 401)
    assert await admin.wallet(targets["user"]) == before
    user = (await admin.http.get(f"/admin/users/{targets['user']}")).json()
    assert user["status"] == "active"
    assert (await admin.http.get(f"/admin/channels/{targets['channel']}")).json()["enabled"] is True


async def test_every_admin_route_in_the_openapi_document_requires_the_token(stack, targets):
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as anonymous:
        spec = (await anonymous.get("/openapi.json")).json()
        routes = [(method.upper(), path) for path, methods in spec["paths"].items() if path.startswith("/admin")
                  for method in methods]
        assert len(routes) >= len(ADMIN_ROUTES)
        for method, path in routes:
            concrete = path.replace("{user_id}", targets["user"]).replace("{key_id}", targets["key"]) \
                .replace("{channel_id}", targets["channel"])
            response = await anonymous.request(method, concrete, json={})
            assert_error(response, 401)


# --- users -------------------------------------------------------------------------------------

async def test_create_user_returns_201_active_user_and_credits_initial_quota(admin, mongo_db):
    response = await admin.http.post("/admin/users", json={"name": "alice", "member_until": None, "quota": 250})
    assert response.status_code == 201, response.text
    user = response.json()
    assert set(user) == {"id", "name", "member_until", "status", "group", "requests_per_minute", "max_in_flight",
                         "models", "created_at"}
    assert user["group"] == "default"
    assert user["name"] == "alice" and user["member_until"] is None and user["status"] == "active"
    assert user["requests_per_minute"] is None and user["max_in_flight"] is None and user["models"] is None
    assert isinstance(user["id"], str) and user["id"]
    wallet = await admin.wallet(user["id"])
    assert WALLET_FIELDS <= set(wallet) and "debt" in wallet
    assert wallet["available"] == 250 and wallet["credited"] == 250
    assert wallet["held"] == 0 and wallet["used"] == 0 and wallet["debt"] == 0
    await assert_sound_wallet(mongo_db, user["id"])


async def test_create_user_without_quota_opens_an_empty_wallet(admin):
    response = await admin.http.post("/admin/users", json={"name": "bob"})
    assert response.status_code == 201, response.text
    wallet = await admin.wallet(response.json()["id"])
    assert {k: wallet[k] for k in WALLET_FIELDS} == {"available": 0, "held": 0, "used": 0, "credited": 0}


async def test_created_users_get_distinct_ids(admin):
    ids = await asyncio.gather(*(admin.create_user() for _ in range(10)))
    assert len(set(ids)) == 10


async def test_user_read_back_matches_the_created_user(admin):
    created = await admin.http.post("/admin/users",
                                    json={"name": "carol", "member_until": "2031-06-01T12:00:00+02:00"})
    assert created.status_code == 201, created.text
    fetched = await admin.http.get(f"/admin/users/{created.json()['id']}")
    assert fetched.status_code == 200, fetched.text
    assert fetched.json() == created.json()
    member_until = datetime.fromisoformat(fetched.json()["member_until"])
    assert member_until == datetime.fromisoformat("2031-06-01T10:00:00+00:00")


async def test_naive_member_until_is_read_as_utc(admin):
    created = await admin.http.post("/admin/users", json={"name": "dan", "member_until": "2032-01-01T00:00:00"})
    assert created.status_code == 201, created.text
    fetched = (await admin.http.get(f"/admin/users/{created.json()['id']}")).json()
    assert fetched == created.json()
    assert datetime.fromisoformat(fetched["member_until"]) == datetime.fromisoformat("2032-01-01T00:00:00+00:00")


async def test_patch_user_changes_only_the_given_fields(admin):
    user_id = await admin.create_user(name="erin", member_until="2030-01-01T00:00:00Z")
    response = await admin.http.patch(f"/admin/users/{user_id}", json={"name": "erin b."})
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "erin b."
    assert response.json()["status"] == "active"
    assert datetime.fromisoformat(response.json()["member_until"]) == datetime.fromisoformat("2030-01-01T00:00:00+00:00")
    assert (await admin.http.get(f"/admin/users/{user_id}")).json() == response.json()


async def test_patch_user_with_null_member_until_clears_the_membership(admin):
    user_id = await admin.create_user(member_until="2030-01-01T00:00:00Z")
    response = await admin.http.patch(f"/admin/users/{user_id}", json={"member_until": None})
    assert response.status_code == 200, response.text
    assert response.json()["member_until"] is None
    assert (await admin.http.get(f"/admin/users/{user_id}")).json()["member_until"] is None


async def test_patch_user_with_empty_body_changes_nothing(admin):
    user_id = await admin.create_user(name="frank")
    before = (await admin.http.get(f"/admin/users/{user_id}")).json()
    response = await admin.http.patch(f"/admin/users/{user_id}", json={})
    assert response.status_code == 200, response.text
    assert response.json() == before


@pytest.mark.parametrize("field", ["name", "status"])
async def test_patch_user_refuses_null_for_a_required_field(admin, field):
    user_id = await admin.create_user(name="gina")
    response = await admin.http.patch(f"/admin/users/{user_id}", json={field: None})
    assert_error(response, 400, 422)
    fetched = await admin.http.get(f"/admin/users/{user_id}")
    assert fetched.status_code == 200, fetched.text
    assert fetched.json()["name"] == "gina" and fetched.json()["status"] == "active"


async def test_disabling_a_user_locks_out_their_keys_and_enabling_restores_access(stack, admin):
    user_id, key = await admin.user_with_key(quota=5)
    response = await admin.http.patch(f"/admin/users/{user_id}", json={"status": "disabled"})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "disabled"
    assert_error(await my_wallet(stack, key), 403)
    assert (await admin.http.patch(f"/admin/users/{user_id}", json={"status": "active"})).status_code == 200
    assert (await my_wallet(stack, key)).status_code == 200


@pytest.mark.parametrize("method,path,body", [
    ("GET", "/admin/users/{missing}", None),
    ("PATCH", "/admin/users/{missing}", {"name": "x"}),
    ("PATCH", "/admin/users/{missing}", {}),
    ("POST", "/admin/users/{missing}/api-keys", {"name": "x"}),
    ("PATCH", "/admin/users/{missing}/api-keys/key_missing", {"enabled": False}),
    ("POST", "/admin/users/{missing}/topup", {"amount": 5, "request_id": "r1"}),
    ("GET", "/admin/users/{missing}/wallet", None),
    ("GET", "/admin/channels/{missing}", None),
    ("PUT", "/admin/channels/{missing}", {"enabled": False}),
    ("PUT", "/admin/channels/{missing}", {}),
])
async def test_unknown_id_is_404(admin, mongo_db, method, path, body):
    missing = f"nope_{secrets.token_hex(6)}"
    response = await admin.http.request(method, path.format(missing=missing), json=body)
    assert_error(response, 404)
    assert await mongo_db.users.find_one({"_id": missing}) is None
    assert await mongo_db.wallets.find_one({"_id": missing}) is None
    assert await mongo_db.api_keys.find_one({"user_id": missing}) is None


# --- API keys ----------------------------------------------------------------------------------

async def test_api_key_secret_is_shown_once_and_only_its_hash_is_stored(admin, mongo_db):
    user_id = await admin.create_user()
    response = await admin.http.post(f"/admin/users/{user_id}/api-keys", json={"name": "ci"})
    assert response.status_code == 201, response.text
    created = response.json()
    assert set(created) == {"id", "key"}
    secret = created["key"]
    assert isinstance(secret, str) and len(secret) >= 20
    stored = await mongo_db.api_keys.find({}).to_list(None)
    assert any(doc["_id"] == created["id"] for doc in stored)
    dumped = json.dumps(stored, default=str)
    assert secret not in dumped
    assert secret[len(secret) // 2:] not in dumped  # not even the unguessable part
    assert secret not in json.dumps(await mongo_db.users.find({}).to_list(None), default=str)
    for read in (f"/admin/users/{user_id}", f"/admin/users/{user_id}/wallet"):
        assert secret not in (await admin.http.get(read)).text
    toggled = await admin.http.patch(f"/admin/users/{user_id}/api-keys/{created['id']}", json={"enabled": True})
    assert toggled.status_code == 200, toggled.text
    assert secret not in toggled.text


async def test_every_new_api_key_is_a_distinct_secret(admin):
    user_id = await admin.create_user()
    created = [await admin.http.post(f"/admin/users/{user_id}/api-keys", json={"name": f"k{i}"}) for i in range(5)]
    assert all(r.status_code == 201 for r in created)
    assert len({r.json()["key"] for r in created}) == 5
    assert len({r.json()["id"] for r in created}) == 5


async def test_api_key_reads_its_own_users_wallet(stack, admin):
    mine, my_key = await admin.user_with_key(quota=42)
    await admin.user_with_key(quota=7)
    response = await my_wallet(stack, my_key)
    assert response.status_code == 200, response.text
    assert response.json() == (await admin.http.get(f"/admin/users/{mine}/wallet")).json()
    assert response.json()["available"] == 42


async def test_disabled_api_key_is_401_and_re_enabled_key_works_again(stack, admin):
    user_id = await admin.create_user(quota=3)
    created = (await admin.http.post(f"/admin/users/{user_id}/api-keys", json={"name": "k"})).json()
    other_key = await admin.create_key(user_id)
    path = f"/admin/users/{user_id}/api-keys/{created['id']}"
    disabled = await admin.http.patch(path, json={"enabled": False})
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["enabled"] is False
    assert assert_error(await my_wallet(stack, created["key"]), 401)["code"] == "key_disabled"
    assert (await my_wallet(stack, other_key)).status_code == 200  # only that key is disabled
    enabled = await admin.http.patch(path, json={"enabled": True})
    assert enabled.status_code == 200 and enabled.json()["enabled"] is True
    assert (await my_wallet(stack, created["key"])).status_code == 200


async def test_api_key_cannot_be_changed_through_another_user(admin):
    owner = await admin.create_user()
    stranger = await admin.create_user()
    key_id = (await admin.http.post(f"/admin/users/{owner}/api-keys", json={"name": "k"})).json()["id"]
    assert_error(await admin.http.patch(f"/admin/users/{stranger}/api-keys/{key_id}", json={"enabled": False}), 404)
    assert_error(await admin.http.patch(f"/admin/users/{owner}/api-keys/key_nope", json={"enabled": False}), 404)


@pytest.mark.parametrize("authorization", [None, "Bearer cp-not-a-real-key", "Bearer", "Basic abc", "cp-x"])
async def test_wallet_with_an_unknown_or_missing_api_key_is_401(stack, authorization):
    headers = {"Authorization": authorization} if authorization is not None else {}
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as client:
        assert_error(await client.get("/api/wallet", headers=headers), 401)


async def test_admin_token_is_not_an_api_key(stack):
    assert_error(await my_wallet(stack, stack.admin_token), 401)


# --- top-ups and wallets -----------------------------------------------------------------------

async def test_topup_credits_the_wallet_and_returns_it(admin, mongo_db):
    user_id = await admin.create_user(quota=10)
    response = await topup(admin, user_id, 90, "first")
    assert response.status_code == 200, response.text
    wallet = response.json()
    assert WALLET_FIELDS <= set(wallet)
    assert wallet["available"] == 100 and wallet["credited"] == 100 and wallet["held"] == 0 and wallet["used"] == 0
    assert wallet["usd"]["available"] == "0.000200"
    assert await admin.wallet(user_id) == {k: v for k, v in wallet.items() if k != "usd"}
    await assert_sound_wallet(mongo_db, user_id)


async def test_repeated_topup_request_id_credits_once(admin, mongo_db):
    user_id = await admin.create_user()
    first = await topup(admin, user_id, 25, "order-17")
    again = await topup(admin, user_id, 25, "order-17")
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert again.json()["credited"] == 25
    assert (await admin.wallet(user_id))["credited"] == 25
    assert await mongo_db.ledger.count_documents({"user_id": user_id, "kind": "topup"}) == 1


@pytest.mark.parametrize("attempt", range(5))  # a few rounds: the races it guards against are timing-dependent
async def test_ten_concurrent_identical_topups_credit_once(admin, mongo_db, attempt):
    user_id = await admin.create_user()
    responses = await asyncio.gather(*(topup(admin, user_id, 40, "same") for _ in range(10)))
    assert [r.status_code for r in responses] == [200] * 10, [r.text for r in responses]
    assert all(r.json()["credited"] == 40 for r in responses)
    wallet = await admin.wallet(user_id)
    assert wallet["credited"] == 40 and wallet["available"] == 40
    assert await mongo_db.ledger.count_documents({"user_id": user_id, "kind": "topup"}) == 1
    await assert_sound_wallet(mongo_db, user_id)


async def test_concurrent_topups_with_distinct_request_ids_all_credit(admin, mongo_db):
    user_id = await admin.create_user()
    responses = await asyncio.gather(*(topup(admin, user_id, i, f"req-{i}") for i in range(1, 21)))
    assert [r.status_code for r in responses] == [200] * 20, [r.text for r in responses]
    wallet = await admin.wallet(user_id)
    assert wallet["credited"] == wallet["available"] == sum(range(1, 21))
    await assert_sound_wallet(mongo_db, user_id)


async def test_same_request_id_for_two_users_credits_each_user(admin):
    first, second = await admin.create_user(), await admin.create_user()
    assert (await topup(admin, first, 5, "shared-id")).status_code == 200
    assert (await topup(admin, second, 6, "shared-id")).status_code == 200
    assert (await admin.wallet(first))["credited"] == 5
    assert (await admin.wallet(second))["credited"] == 6


async def test_wallet_totals_add_up_after_mixed_topups(admin, mongo_db):
    user_id = await admin.create_user(quota=3)
    await asyncio.gather(*(topup(admin, user_id, 7, f"r{i % 4}") for i in range(12)))
    wallet = await admin.wallet(user_id)
    assert wallet["credited"] == 3 + 4 * 7
    assert wallet["available"] + wallet["held"] + wallet["used"] == wallet["credited"]
    await assert_sound_wallet(mongo_db, user_id)


async def test_huge_topup_amount_is_refused_and_billing_keeps_working(admin):
    user_id = await admin.create_user()
    assert_error(await topup(admin, user_id, HUGE, "huge"), 400, 422)
    assert_error(await topup(admin, user_id, 2**63, "int64-overflow"), 400, 422)
    response = await topup(admin, user_id, 9, "after-huge")
    assert response.status_code == 200, response.text
    assert (await admin.wallet(user_id))["credited"] == 9


async def test_huge_initial_quota_is_refused_without_creating_the_user(admin, mongo_db):
    name = f"greedy-{secrets.token_hex(4)}"
    assert_error(await admin.http.post("/admin/users", json={"name": name, "quota": HUGE}), 400, 422)
    assert await mongo_db.users.find_one({"name": name}) is None
    user_id = await admin.create_user(quota=4)
    assert (await admin.wallet(user_id))["credited"] == 4


# --- channels ----------------------------------------------------------------------------------

async def test_create_channel_returns_201_with_its_fields_and_never_the_api_key(admin):
    fields = channel_fields(token_header="X-Caller-Token", upstream_precharge=True, poll_interval_s=2.5,
                            task_lifetime_s=600, status_words={"success": ["done"], "failed": ["error"]})
    response = await admin.http.post("/admin/channels", json=fields)
    assert response.status_code == 201, response.text
    channel = response.json()
    assert isinstance(channel["id"], str) and channel["id"]
    assert "api_key" not in channel and channel["api_key_set"] is True
    assert fields["api_key"] not in response.text
    for name in ("name", "kind", "models", "token_header", "upstream_precharge", "poll_interval_s"):
        assert channel[name] == fields[name], name
    assert channel["base_url"].rstrip("/") == fields["base_url"]
    assert channel["billing"]["mode"] == "per_call" and channel["billing"]["price"] == 10
    assert channel["timeout_s"] == 20 and channel["enabled"] is True and channel["task_lifetime_s"] == 600
    assert channel["status_words"]["success"] == ["done"]


async def test_channel_defaults_apply_when_omitted(admin):
    response = await admin.http.post("/admin/channels", json={
        "name": f"w-{secrets.token_hex(4)}", "kind": "worker", "models": ["w-1"], "billing": {"mode": "free"}})
    assert response.status_code == 201, response.text
    channel = response.json()
    assert channel["api_key_set"] is False and channel["enabled"] is True
    assert channel["timeout_s"] > 0 and channel["billing"] == {"mode": "free", "price": 0, "precharge": None,
                                                                "usage_field": None}


@pytest.mark.parametrize("billing", [None, {"price": 10}, {"mode": "per_call"}, {"mode": "per_usage"}])
async def test_a_channel_is_never_free_by_omission(admin, mongo_db, billing):
    """main: no billing (or no price) made a per_call channel of price 0, i.e. free, silently."""
    fields = channel_fields()
    fields.pop("billing") if billing is None else fields.update(billing=billing)
    body = assert_error(await admin.http.post("/admin/channels", json=fields), 422)
    assert body["code"] == "invalid_request" and "billing" in body["message"]
    assert await mongo_db.channels.find_one({"name": fields["name"]}) is None


@pytest.mark.parametrize("kind", ["custompass_async", "custompass_sync", "replicate", "runninghub", "worker"])
async def test_every_channel_kind_can_be_created(admin, kind):
    channel = await admin.create_channel(**channel_fields(kind=kind))
    assert channel["kind"] == kind


@pytest.mark.parametrize("billing", [{"mode": "free", "price": 0}, {"mode": "per_call", "price": 5, "precharge": 8},
                                     {"mode": "per_usage", "price": 3, "precharge": 100}])
async def test_every_billing_mode_is_stored(admin, billing):
    channel = await admin.create_channel(**channel_fields(billing=billing))
    assert {k: channel["billing"][k] for k in billing} == billing


async def test_channel_api_key_is_never_returned_by_reads_or_updates(admin):
    fields = channel_fields()
    channel = await admin.create_channel(**fields)
    reads = [await admin.http.get(f"/admin/channels/{channel['id']}"),
             await admin.http.get("/admin/channels", params={"limit": 500}),
             await admin.http.put(f"/admin/channels/{channel['id']}", json={"timeout_s": 30})]
    for response in reads:
        assert response.status_code == 200, response.text
        assert fields["api_key"] not in response.text
        assert '"api_key"' not in response.text


async def test_get_channel_returns_what_create_returned(admin):
    channel = await admin.create_channel(**channel_fields())
    response = await admin.http.get(f"/admin/channels/{channel['id']}")
    assert response.status_code == 200, response.text
    assert response.json() == channel


async def test_list_channels_includes_created_channels_and_pages(admin):
    created = [await admin.create_channel(**channel_fields(name=f"page-{i}")) for i in range(3)]
    by_id = {c["id"]: c for c in await _all_channels(admin)}
    for channel in created:
        assert by_id[channel["id"]] == channel
    first = (await admin.http.get("/admin/channels", params={"limit": 1})).json()
    second = (await admin.http.get("/admin/channels", params={"limit": 1, "offset": 1})).json()
    assert len(first) == len(second) == 1 and first[0]["id"] != second[0]["id"]


async def _all_channels(admin: AdminApi) -> list[dict]:
    found: list[dict] = []
    while True:
        page = await admin.http.get("/admin/channels", params={"limit": 500, "offset": len(found)})
        assert page.status_code == 200, page.text
        found += page.json()
        if len(page.json()) < 500:
            return found


async def test_put_channel_changes_only_the_given_fields(admin):
    channel = await admin.create_channel(**channel_fields())
    response = await admin.http.put(f"/admin/channels/{channel['id']}",
                                    json={"enabled": False, "timeout_s": 45, "models": ["renamed"]})
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["enabled"] is False and updated["timeout_s"] == 45 and updated["models"] == ["renamed"]
    unchanged = {k: v for k, v in channel.items() if k not in ("enabled", "timeout_s", "models")}
    assert {k: updated[k] for k in unchanged} == unchanged
    assert (await admin.http.get(f"/admin/channels/{channel['id']}")).json() == updated


async def test_put_channel_with_empty_body_changes_nothing(admin):
    channel = await admin.create_channel(**channel_fields())
    response = await admin.http.put(f"/admin/channels/{channel['id']}", json={})
    assert response.status_code == 200, response.text
    assert response.json() == channel


async def test_put_channel_rotates_and_clears_the_api_key(admin, mongo_db):
    channel = await admin.create_channel(**channel_fields())
    rotated = await admin.http.put(f"/admin/channels/{channel['id']}", json={"api_key": "sk-rotated"})
    assert rotated.status_code == 200 and rotated.json()["api_key_set"] is True
    assert (await mongo_db.channels.find_one({"_id": channel["id"]}))["api_key"] == "sk-rotated"
    assert "sk-rotated" not in rotated.text
    cleared = await admin.http.put(f"/admin/channels/{channel['id']}", json={"api_key": None})
    assert cleared.status_code == 200 and cleared.json()["api_key_set"] is False


@pytest.mark.parametrize("body", [
    {"name": None}, {"models": None}, {"billing": None}, {"timeout_s": None}, {"enabled": None},
    {"base_url": None},
], ids=lambda b: f"{next(iter(b))}=null")
async def test_put_channel_refuses_null_for_a_required_field(admin, body):
    channel = await admin.create_channel(**channel_fields())
    assert_error(await admin.http.put(f"/admin/channels/{channel['id']}", json=body), 400, 422)
    fetched = await admin.http.get(f"/admin/channels/{channel['id']}")
    assert fetched.status_code == 200, fetched.text
    assert fetched.json() == channel


async def test_worker_channel_may_drop_its_base_url(admin):
    channel = await admin.create_channel(**channel_fields(kind="worker"))
    response = await admin.http.put(f"/admin/channels/{channel['id']}", json={"base_url": None})
    assert response.status_code == 200, response.text
    assert response.json()["base_url"] is None


# --- hostile input -----------------------------------------------------------------------------

def _raw(text: str) -> dict:
    return {"content": text, "headers": {"Content-Type": "application/json"}}


NOT_JSON = _raw("{this is not json")
DEEPLY_NESTED = _raw("[" * 100_000 + "]" * 100_000)
ARRAY = {"json": [{"name": "x"}]}

HOSTILE = {
    "POST /admin/users": [
        ("not_json", NOT_JSON), ("array", ARRAY), ("empty_body", _raw("")), ("null_body", _raw("null")),
        ("empty_object", {"json": {}}), ("empty_name", {"json": {"name": ""}}),
        ("name_wrong_type", {"json": {"name": 5}}), ("name_too_long", {"json": {"name": "n" * 10_000}}),
        ("negative_quota", {"json": {"name": "x", "quota": -1}}),
        ("huge_quota", {"json": {"name": "x", "quota": HUGE}}),
        ("fractional_quota", {"json": {"name": "x", "quota": 1.5}}),
        ("bool_quota", {"json": {"name": "x", "quota": True}}),
        ("string_quota", {"json": {"name": "x", "quota": "lots"}}),
        ("unknown_field", {"json": {"name": "x", "admin": True}}),
        ("bad_member_until", {"json": {"name": "x", "member_until": "tomorrow"}}),
        ("member_until_number", {"json": {"name": "x", "member_until": HUGE}}),
        ("member_until_underflows", {"json": {"name": "x", "member_until": "0001-01-01T00:00:00+14:00"}}),
        ("member_until_overflows", {"json": {"name": "x", "member_until": "9999-12-31T23:59:59-14:00"}}),
        ("nested_garbage", {"json": {"name": {"$gt": ""}}}), ("deeply_nested", DEEPLY_NESTED),
        ("not_utf8", {"content": b'{"name": "\xff\xfe"}', "headers": {"Content-Type": "application/json"}}),
    ],
    "PATCH /admin/users/{user}": [
        ("not_json", NOT_JSON), ("array", ARRAY), ("null_body", _raw("null")),
        ("bad_status", {"json": {"status": "deleted"}}), ("empty_name", {"json": {"name": ""}}),
        ("unknown_field", {"json": {"quota": 5}}), ("status_wrong_type", {"json": {"status": 1}}),
        ("member_until_underflows", {"json": {"member_until": "0001-01-01T00:00:00+14:00"}}),
    ],
    "POST /admin/users/{user}/api-keys": [
        ("not_json", NOT_JSON), ("array", ARRAY), ("empty_object", {"json": {}}),
        ("empty_name", {"json": {"name": ""}}), ("name_wrong_type", {"json": {"name": ["k"]}}),
        ("unknown_field", {"json": {"name": "k", "key": "cp-chosen"}}),
    ],
    "PATCH /admin/users/{user}/api-keys/{key}": [  # partial: an empty object changes nothing, see test_key_policies
        ("not_json", NOT_JSON), ("array", ARRAY), ("quota_limit_float", {"json": {"quota_limit": 2.0}}),
        ("enabled_wrong_type", {"json": {"enabled": "maybe"}}), ("enabled_null", {"json": {"enabled": None}}),
        ("unknown_field", {"json": {"enabled": True, "user_id": "usr_other"}}),
    ],
    "POST /admin/users/{user}/topup": [
        ("not_json", NOT_JSON), ("array", ARRAY), ("empty_object", {"json": {}}),
        ("zero_amount", {"json": {"amount": 0, "request_id": "r"}}),
        ("negative_amount", {"json": {"amount": -50, "request_id": "r"}}),
        ("huge_amount", {"json": {"amount": HUGE, "request_id": "r"}}),
        ("huge_negative_amount", {"json": {"amount": -HUGE, "request_id": "r"}}),
        ("fractional_amount", {"json": {"amount": 2.5, "request_id": "r"}}),
        ("float_amount", {"json": {"amount": 2.0, "request_id": "r"}}),
        ("bool_amount", {"json": {"amount": True, "request_id": "r"}}),
        ("string_amount", {"json": {"amount": "ten", "request_id": "r"}}),
        ("numeric_string_amount", {"json": {"amount": "10", "request_id": "r"}}),
        ("missing_request_id", {"json": {"amount": 5}}),
        ("empty_request_id", {"json": {"amount": 5, "request_id": ""}}),
        ("request_id_wrong_type", {"json": {"amount": 5, "request_id": {"$ne": None}}}),
        ("request_id_too_long", {"json": {"amount": 5, "request_id": "r" * 5000}}),
        ("unknown_field", {"json": {"amount": 5, "request_id": "r", "user_id": "usr_other"}}),
        ("infinity_amount", _raw('{"amount": Infinity, "request_id": "r"}')),
        ("nan_amount", _raw('{"amount": NaN, "request_id": "r"}')), ("deeply_nested", DEEPLY_NESTED),
    ],
    "POST /admin/channels": [
        ("not_json", NOT_JSON), ("array", ARRAY), ("empty_object", {"json": {}}),
        ("invalid_kind", {"json": channel_fields(kind="telepathy")}),
        ("invalid_base_url", {"json": channel_fields(base_url="not a url")}),
        ("ftp_base_url", {"json": channel_fields(base_url="ftp://upstream.invalid/")}),
        ("empty_base_url", {"json": channel_fields(base_url="")}),
        ("http_kind_without_base_url", {"json": channel_fields(base_url=None)}),
        ("missing_models", {"json": {k: v for k, v in channel_fields().items() if k != "models"}}),
        ("empty_models", {"json": channel_fields(models=[])}),
        ("nul_in_mapped_model", {"json": channel_fields(model_mapping={"\x00": "m"})}),
        ("dollar_model", {"json": channel_fields(models=["$where"])}),
        ("empty_model_name", {"json": channel_fields(models=[""])}),
        ("models_not_a_list", {"json": channel_fields(models="model-a")}),
        ("model_wrong_type", {"json": channel_fields(models=[5])}),
        ("empty_name", {"json": channel_fields(name="")}),
        ("bad_billing_mode", {"json": channel_fields(billing={"mode": "per_minute", "price": 1})}),
        ("negative_price", {"json": channel_fields(billing={"mode": "per_call", "price": -1})}),
        ("huge_price", {"json": channel_fields(billing={"mode": "per_call", "price": HUGE})}),
        ("fractional_price", {"json": channel_fields(billing={"mode": "per_call", "price": 0.5})}),
        ("huge_precharge", {"json": channel_fields(billing={"mode": "per_call", "price": 1, "precharge": HUGE})}),
        ("billing_unknown_field", {"json": channel_fields(billing={"mode": "per_call", "price": 1, "fee": 2})}),
        ("zero_timeout", {"json": channel_fields(timeout_s=0)}),
        ("negative_timeout", {"json": channel_fields(timeout_s=-1)}),
        ("huge_timeout", {"json": channel_fields(timeout_s=HUGE)}),
        ("huge_max_concurrent", {"json": channel_fields(max_concurrent=HUGE)}),
        ("huge_task_lifetime", {"json": channel_fields(task_lifetime_s=HUGE)}),
        ("infinite_task_lifetime", _raw(json.dumps(channel_fields())[:-1] + ', "task_lifetime_s": Infinity}')),
        ("nan_poll_interval", _raw(json.dumps(channel_fields())[:-1] + ', "poll_interval_s": NaN}')),
        ("api_key_wrong_type", {"json": channel_fields(api_key=12345)}),
        ("empty_token_header", {"json": channel_fields(token_header="")}),
        ("status_words_wrong_type", {"json": channel_fields(status_words={"success": "done"})}),
        ("unknown_field", {"json": channel_fields(priority_override=1)}),
        ("mongo_operator_id", {"json": channel_fields(_id="ch_chosen")}),
    ],
    "PUT /admin/channels/{channel}": [
        ("not_json", NOT_JSON), ("array", ARRAY), ("null_body", _raw("null")),
        ("invalid_kind", {"json": {"kind": "telepathy"}}),
        ("invalid_base_url", {"json": {"base_url": "::::"}}),
        ("empty_models", {"json": {"models": []}}),
        ("empty_model_name", {"json": {"models": [""]}}),
        ("negative_price", {"json": {"billing": {"mode": "per_call", "price": -5}}}),
        ("huge_price", {"json": {"billing": {"mode": "per_call", "price": HUGE}}}),
        ("huge_max_concurrent", {"json": {"max_concurrent": HUGE}}),
        ("infinite_task_lifetime", _raw('{"task_lifetime_s": Infinity}')),
        ("empty_name", {"json": {"name": ""}}),
        ("unknown_field", {"json": {"owner": "me"}}),
    ],
}
HOSTILE_CASES = [(route, label, request) for route, cases in HOSTILE.items() for label, request in cases]


@pytest.mark.parametrize("route,label,request_kwargs", HOSTILE_CASES,
                         ids=[f"{route} {label}" for route, label, _ in HOSTILE_CASES])
async def test_hostile_body_is_refused_with_a_stable_error_and_changes_nothing(
        admin, mongo_db, targets, route, label, request_kwargs):
    method, path = route.split(" ")
    users, channels = await mongo_db.users.count_documents({}), await mongo_db.channels.count_documents({})
    keys, wallet = await mongo_db.api_keys.count_documents({}), await admin.wallet(targets["user"])
    channel_before = (await admin.http.get(f"/admin/channels/{targets['channel']}")).json()
    response = await admin.http.request(method, path.format(**targets), **request_kwargs)
    assert_error(response, 400, 422)
    assert await mongo_db.users.count_documents({}) == users
    assert await mongo_db.channels.count_documents({}) == channels
    assert await mongo_db.api_keys.count_documents({}) == keys
    assert await admin.wallet(targets["user"]) == wallet
    assert (await admin.http.get(f"/admin/channels/{targets['channel']}")).json() == channel_before


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 501}, {"limit": "ten"}, {"offset": -1},
                                    {"offset": "x"}, {"offset": HUGE}, {"limit": HUGE}])
async def test_list_channels_with_bad_paging_is_refused(admin, params):
    assert_error(await admin.http.get("/admin/channels", params=params), 400, 422)


@pytest.mark.parametrize("path", ["/admin/users/{junk}", "/admin/users/{junk}/wallet", "/admin/channels/{junk}"])
async def test_strange_ids_in_the_path_are_404_not_500(admin, path):
    for junk in ("%24where", "a" * 2000, "%00", "..%2F..%2Fadmin", "%F0%9F%92%A5", "{\"$gt\":\"\"}"):
        response = await admin.http.get(path.format(junk=junk))
        assert_error(response, 404)


async def test_unknown_admin_path_and_wrong_method_answer_with_the_error_shape(admin):
    assert_error(await admin.http.get("/admin/nothing-here"), 404)
    assert_error(await admin.http.delete("/admin/channels"), 405)


async def test_concurrent_hostile_and_valid_requests_leave_consistent_wallets(admin, mongo_db):
    user_id = await admin.create_user()
    hostile = [admin.http.post(f"/admin/users/{user_id}/topup", json={"amount": a, "request_id": "h"})
               for a in (-1, 0, HUGE, "x", None)]
    valid = [topup(admin, user_id, 3, f"ok-{i}") for i in range(10)]
    responses = await asyncio.gather(*hostile, *valid)
    assert all(r.status_code < 500 for r in responses), [r.text for r in responses]
    await eventually(lambda: _credited(admin, user_id, 30))
    await assert_sound_wallet(mongo_db, user_id)  # the last top-up's id may still be in flight


async def _sound(mongo_db, user_id: str) -> bool:
    await assert_sound_wallet(mongo_db, user_id)
    return True


async def _credited(admin: AdminApi, user_id: str, amount: int) -> bool:
    return (await admin.wallet(user_id))["credited"] == amount


# --- listing users and keys; deleting (archiving) keys and channels ----------------------------

async def test_list_users_searches_by_name_and_pages_newest_first(admin):
    tag = secrets.token_hex(4)
    ids = [await admin.create_user(name=f"Find-{tag}-{i}") for i in range(3)]
    await admin.create_user(name=f"other-{secrets.token_hex(4)}")
    found = await admin.http.get("/admin/users", params={"q": f"find-{tag}"})
    assert found.status_code == 200, found.text
    assert [u["id"] for u in found.json()] == ids[::-1]  # newest first, matched ignoring case
    assert all(set(u) >= {"id", "name", "status", "group", "created_at"} for u in found.json())
    second = (await admin.http.get("/admin/users", params={"q": f"find-{tag}", "limit": 1, "offset": 1})).json()
    assert [u["id"] for u in second] == [ids[1]]
    assert (await admin.http.get("/admin/users", params={"q": ".*"})).json() == []  # a substring, not a pattern


async def test_list_api_keys_never_shows_a_secret_or_hash(admin, mongo_db):
    user_id = await admin.create_user()
    created = [(await admin.http.post(f"/admin/users/{user_id}/api-keys", json={"name": f"k{i}"})).json()
               for i in range(2)]
    response = await admin.http.get(f"/admin/users/{user_id}/api-keys")
    assert response.status_code == 200, response.text
    assert [k["id"] for k in response.json()] == [c["id"] for c in created]
    stored = await mongo_db.api_keys.find_one({"_id": created[0]["id"]})
    for secret in (created[0]["key"], created[1]["key"], stored["hash"], stored["prefix"]):
        assert secret not in response.text
    assert_error(await admin.http.get("/admin/users/usr_missing/api-keys"), 404)


async def test_deleted_api_key_stops_authenticating_at_once_and_keeps_its_document(stack, admin, mongo_db):
    user_id = await admin.create_user(quota=5)
    created = (await admin.http.post(f"/admin/users/{user_id}/api-keys", json={"name": "doomed"})).json()
    assert (await my_wallet(stack, created["key"])).status_code == 200  # cached by this gateway now
    deleted = await admin.http.delete(f"/admin/users/{user_id}/api-keys/{created['id']}")
    assert deleted.status_code == 204, deleted.text
    assert_error(await my_wallet(stack, created["key"]), 401)
    assert (await admin.http.get(f"/admin/users/{user_id}/api-keys")).json() == []
    listed = (await admin.http.get(f"/admin/users/{user_id}/api-keys", params={"include_archived": True})).json()
    assert [k["id"] for k in listed] == [created["id"]] and listed[0]["archived_at"]
    assert await mongo_db.api_keys.find_one({"_id": created["id"]}) is not None  # tasks and logs name it
    assert_error(await admin.http.patch(f"/admin/users/{user_id}/api-keys/{created['id']}",
                                        json={"enabled": True}), 404)
    assert_error(await admin.http.delete(f"/admin/users/{user_id}/api-keys/{created['id']}"), 404)
    other = await admin.create_user()
    key_id = (await admin.http.post(f"/admin/users/{other}/api-keys", json={"name": "k"})).json()["id"]
    assert_error(await admin.http.delete(f"/admin/users/{user_id}/api-keys/{key_id}"), 404)  # not this user's


async def test_deleted_channel_is_archived_stops_serving_and_leaves_the_list(stack, admin, mongo_db):
    model = f"gone-{secrets.token_hex(3)}"
    channel = await admin.create_channel(**channel_fields(kind="custompass_sync", base_url=stack.upstream_url, api_key="upstream-secret",
                                                          models=[model]))
    user_id, key = await admin.user_with_key(quota=100)
    async with client_for(stack, key) as client:
        assert (await client.post(f"/pass/{model}", json={"prompt": "hi"})).status_code == 200
        deleted = await admin.http.delete(f"/admin/channels/{channel['id']}")
        assert deleted.status_code == 204, deleted.text
        assert_error(await client.post(f"/pass/{model}", json={"prompt": "hi"}), 404)
    assert channel["id"] not in {c["id"] for c in await _all_channels(admin)}
    archived = (await admin.http.get("/admin/channels", params={"include_archived": True, "limit": 500})).json()
    assert channel["id"] in {c["id"] for c in archived} or len(archived) == 500
    fetched = (await admin.http.get(f"/admin/channels/{channel['id']}")).json()
    assert fetched["archived_at"] and fetched["enabled"] is False
    assert await mongo_db.channels.find_one({"_id": channel["id"]}) is not None  # tasks and logs name it
    again = await admin.http.delete(f"/admin/channels/{channel['id']}")
    assert again.status_code == 204
    assert (await admin.http.get(f"/admin/channels/{channel['id']}")).json()["archived_at"] == fetched["archived_at"]
    assert assert_error(await admin.http.put(f"/admin/channels/{channel['id']}", json={"enabled": True}),
                        409)["code"] == "channel_archived"
    assert_error(await admin.http.delete("/admin/channels/ch_missing"), 404)
    revived = await admin.create_channel(**channel_fields(name=channel["name"]))  # an archived name is free
    assert revived["id"] != channel["id"]


async def test_duplicate_channel_names_are_refused_on_create_and_rename(admin, mongo_db):
    first = await admin.create_channel(**channel_fields())
    second = await admin.create_channel(**channel_fields())
    duplicate = await admin.http.post("/admin/channels", json=channel_fields(name=first["name"]))
    assert assert_error(duplicate, 409)["code"] == "channel_exists"
    assert await mongo_db.channels.count_documents({"name": first["name"]}) == 1
    renamed = await admin.http.put(f"/admin/channels/{second['id']}", json={"name": first["name"]})
    assert assert_error(renamed, 409)["code"] == "channel_exists"
    assert (await admin.http.get(f"/admin/channels/{second['id']}")).json()["name"] == second["name"]
    same = await admin.http.put(f"/admin/channels/{first['id']}", json={"name": first["name"]})
    assert same.status_code == 200, same.text  # keeping its own name is no clash
