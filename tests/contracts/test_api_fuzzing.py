"""Property-based fuzzing of the gateway from its own OpenAPI document (schemathesis), over HTTP
against the test stack's gateway: the admin API with the admin token, the client API with a
user's key. Whatever the input: never a 500, a 5xx only where the API promises one (an upstream
or billing in trouble), and every answer with a documented status matches its documented schema."""
from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import response_schema_conformance

from tools.contracts.openapi import openapi_document

# Per operation; about 20 operations at a few milliseconds a request: well under a minute.
MAX_EXAMPLES = 25
# The error contract (docs/async-and-sync-api.md): 502 upstream trouble (or the upstream's own refusal), 503 billing
# did not answer in time (or no worker / a full queue for /api/openai), 504 upstream timeout. Only the
# routes that call out may answer them.
DEPENDENCY_STATUSES = {502, 503, 504}
CALLING_OUT = ("/pass/", "/admin/users/{user_id}/topup", "/api/openai")

# Built from the code, not read from docs/: creating the app connects nothing, and the drift test
# keeps docs/openapi.json equal to this.
schema = schemathesis.openapi.from_dict(openapi_document())


@pytest.fixture(scope="module")
def tokens(stack) -> dict[str, str]:
    """Bearer token by API family: the admin token for /admin, a funded user's key elsewhere."""
    admin = {"Authorization": f"Bearer {stack.admin_token}"}
    with httpx.Client(base_url=stack.gateway_url, headers=admin, timeout=30) as http:
        user = http.post("/admin/users", json={"name": "fuzz", "quota": 1000})
        assert user.status_code == 201, user.text
        key = http.post(f"/admin/users/{user.json()['id']}/api-keys", json={"name": "fuzz"})
        assert key.status_code == 201, key.text
    return {"admin": stack.admin_token, "client": key.json()["key"]}


def keep_upstreams_local(case, stack) -> None:
    """Channels the fuzzer creates point at the stack's mock upstream: generated base URLs would
    send the gateway's and poller's requests to arbitrary hosts."""
    if case.path.startswith("/admin/channels") and isinstance(case.body, dict):
        case.body["base_url"] = stack.upstream_url


def without_a_declared_length(case) -> None:
    """Drops a generated `Content-Length`: a request that declares a body it never sends is, by
    HTTP, still being sent, so the server rightly waits for the rest until the client gives up."""
    if case.headers:
        case.headers = {name: value for name, value in case.headers.items() if name.lower() != "content-length"}


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_gateway_never_fails_with_5xx_and_answers_as_documented(case, stack, tokens):
    keep_upstreams_local(case, stack)
    without_a_declared_length(case)
    family = "admin" if case.path.startswith("/admin") else "client"
    response = case.call(base_url=stack.gateway_url, headers={"Authorization": f"Bearer {tokens[family]}"},
                         timeout=30)
    case.validate_response(response, checks=[response_schema_conformance])
    if response.status_code >= 500:
        promised = response.status_code in DEPENDENCY_STATUSES and case.path.startswith(CALLING_OUT)
        assert promised, f"{case.method} {case.path} -> {response.status_code} {response.text[:300]}"
