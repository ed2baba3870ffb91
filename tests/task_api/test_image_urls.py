"""`inputImageUrl` must not make upstreams fetch internal addresses: the check on its own, and
through the gateway (a refused URL is 4001 and opens no task and no hold)."""
from __future__ import annotations

import pytest

from services.gateway.errors import InvalidRequest
from services.gateway.task_api.image_urls import AllowList, check_image_url
from tests.task_api.test_task_api import refused

INTERNAL = ["http://127.0.0.1/a.png", "http://localhost/a.png", "http://[::1]/a.png", "http://10.0.0.7/a.png",
            "http://192.168.1.1/a.png", "http://172.16.0.1/a.png", "http://169.254.169.254/latest/meta-data",
            "http://100.64.0.1/a.png", "http://0.0.0.0/a.png", "http://0/a.png", "http://[::ffff:127.0.0.1]/a.png",
            "http://[fe80::1]/a.png", "http://[fc00::1]/a.png", "http://224.0.0.1/a.png",
            # IPv4 spelled as one number, in hex, in octal, or shortened: all 127.0.0.1
            "http://2130706433/a.png", "http://0x7f000001/a.png", "http://0177.0.0.1/a.png", "http://127.1/a.png"]
MALFORMED = ["ftp://8.8.8.8/a.png", "file:///etc/passwd", "javascript:alert(1)", "8.8.8.8/a.png", "http:///a.png",
             "http://user:secret@8.8.8.8/a.png", "http://8.8.8.8:99999/a.png", "http://[::1/a.png"]


@pytest.mark.parametrize("url", INTERNAL + MALFORMED)
async def test_internal_and_malformed_urls_are_refused(url):
    with pytest.raises(InvalidRequest):
        await check_image_url(url, 2048, AllowList(""))


async def test_public_addresses_pass_and_long_urls_do_not():
    await check_image_url("https://8.8.8.8/images/a.png?size=large", 2048, AllowList(""))
    with pytest.raises(InvalidRequest):
        await check_image_url("https://8.8.8.8/" + "a" * 2048, 2048, AllowList(""))


async def test_the_allow_list_admits_named_hosts_and_networks_only():
    allow = AllowList("images.internal, 10.1.0.0/16")
    await check_image_url("http://images.internal/a.png", 2048, allow)  # by name, not resolved
    await check_image_url("http://10.1.2.3/a.png", 2048, allow)
    for url in ("http://10.2.0.1/a.png", "http://127.0.0.1/a.png"):
        with pytest.raises(InvalidRequest):
            await check_image_url(url, 2048, allow)


async def test_the_gateway_refuses_internal_urls_without_opening_a_task(task_type, task_user, task_admin, task_db):
    name = await task_type()
    user = await task_user(quota=100)
    for url in ["http://127.0.0.1:8080/a.png", "http://[::1]/a.png", "http://10.0.0.1/a.png",
                "http://169.254.169.254/latest", "http://2130706433/a.png", "http://0x7f000001/", "gopher://x/",
                "http://127.0.0.2.nip.invalid/a.png", "https://8.8.8.8/" + "a" * 2100]:
        refused(await user.create(name, url), 400, 4001)
    assert await task_db.tasks.count_documents({"user_id": user.user_id}) == 0
    assert (await task_admin.wallet(user.user_id))["held"] == 0
