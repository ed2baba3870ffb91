"""Disabling a user (or one of their API keys) through one gateway refuses their next requests on
every gateway: keys and users are read with each request, from a per-process cache for at most
CONFIG_CACHE_TTL_S where one is in force (docs/operations.md, Security: Revocation)."""
from __future__ import annotations

import httpx
import pytest

from tests.harness.api import eventually
from tests.harness.processes import ServiceProcess
from tools import devinfra

# The documented bound (CONFIG_CACHE_TTL_S, 1 s at most by default) plus a loaded machine's slack.
IN_FORCE_WITHIN_S = 3.0


@pytest.fixture(scope="module")
def second_gateway(stack):
    port = devinfra.free_port()
    process = ServiceProcess("gateway_revocation", "services.gateway", port,
                             {**stack.env, "GATEWAY_PORT": str(port)}, stack.log_dir)
    process.start().wait_ready()
    yield process.url
    process.kill()


async def answers(gateways: list[str], key: str) -> list[tuple[int, str | None]]:
    found = []
    for url in gateways:
        async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as http:
            response = await http.get("/api/wallet")
            found.append((response.status_code, response.json().get("code")))
    return found


async def test_a_disabled_user_is_refused_on_every_gateway_and_re_enabled_works_again(admin, stack, second_gateway):
    gateways = [stack.gateway_url, second_gateway]
    user_id, key = await admin.user_with_key(quota=5)
    assert await answers(gateways, key) == [(200, None)] * 2
    for status, expected in (("disabled", (403, "user_disabled")), ("active", (200, None))):
        changed = await admin.http.patch(f"/admin/users/{user_id}", json={"status": status})
        assert changed.status_code == 200, changed.text

        async def in_force(expected=expected):
            return await answers(gateways, key) == [expected] * 2
        await eventually(in_force, timeout=IN_FORCE_WITHIN_S, interval=0.05)
