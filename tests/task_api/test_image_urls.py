"""`inputImageUrl` must not make upstreams fetch internal addresses: through the gateway, a URL
the outbound-URL policy refuses is 4001 and opens no task and no hold. The policy's own checks,
every spelling included, are tests/shared/test_outbound_urls.py."""
from __future__ import annotations

from tests.task_api.test_task_api import refused


async def test_the_gateway_refuses_internal_urls_without_opening_a_task(task_type, task_user, task_admin, task_db):
    name = await task_type()
    user = await task_user(quota=100)
    for url in ["http://127.0.0.1:8080/a.png", "http://[::1]/a.png", "http://10.0.0.1/a.png",
                "http://169.254.169.254/latest", "http://2130706433/a.png", "http://0x7f000001/", "gopher://x/",
                "http://[64:ff9b::7f00:1]/a.png", "http://[2002:7f00:1::]/a.png", "http://[::127.0.0.1]/a.png",
                "http://127.0.0.2.nip.invalid/a.png", "https://8.8.8.8/" + "a" * 2100]:
        refused(await user.create(name, url), 400, 4001)
    assert await task_db.tasks.count_documents({"user_id": user.user_id}) == 0
    assert (await task_admin.wallet(user.user_id))["held"] == 0
