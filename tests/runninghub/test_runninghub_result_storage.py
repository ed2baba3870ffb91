"""RunningHub outputs kept on our side (`result_storage: local`): each `fileUrl` is copied when the
outputs are first read and rewritten to the gateway's URL; the other output fields stay."""
from __future__ import annotations

import httpx
import pytest

from tests.harness.settled import assert_one_log, settled_task


async def test_file_urls_are_rewritten_to_our_copies(runninghub_channel, make_client, mongo_db, runninghub, stack):
    # Read once, on the TASK_END webhook (polls hourly): the mock's file expires after one download.
    model, _ = await runninghub_channel(result_storage="local", poll_interval_s=3600)
    client = await make_client(quota=100)
    task_id = (await client.submit(model, {"mock": {"output_downloads": 1}})).json()["task_id"]
    task = await settled_task(mongo_db, task_id)
    upstream_id = task["upstream_task_id"]
    (output,) = (await client.fetch(model, task_id)).json()["result"]
    assert output["fileUrl"].startswith(f"{stack.gateway_url}/results/{task_id}/")
    assert (output["fileType"], output["taskCostTime"]) == ("png", "12")
    async with httpx.AsyncClient(timeout=10) as anyone:
        assert (await runninghub.get(f"/files/{upstream_id}.png")).status_code == 404  # expired
        file = await anyone.get(output["fileUrl"])
    assert file.status_code == 200 and file.content == b"\x89PNG\r\n\x1a\n" + upstream_id.encode()
    assert file.headers["content-type"] == "image/png"
    await assert_one_log(mongo_db, task_id, "SUCCESS", 12)


@pytest.mark.parametrize("path", ["/results/..%2F..%2Fetc/passwd", "/results/task_x/..%2Fsecret",
                                  "/results/task_x/nothing.png", "/results/task_x/a.png.content-type"])
async def test_only_stored_files_are_served(stack, path):
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=10) as anyone:
        answer = await anyone.get(path)
    assert answer.status_code == 404 and answer.json()["code"] in ("result_not_found", "not_found"), answer.text
