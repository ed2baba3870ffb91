"""Streamed sync answers: relayed as they arrive, settled from the final usage event — also when
the client hangs up half-way."""
from __future__ import annotations

import json
import time

from tests.sync_pass.conftest import TASK_ID_HEADER

USAGE = {"prompt_tokens": 30, "completion_tokens": 40}  # 70 tokens
PER_USAGE = {"mode": "per_usage", "price": 100, "precharge": 20}  # 70 tokens -> 7


def stream_body(**mock) -> dict:
    return {"prompt": "tell me", "mock": {"stream": True, "usage": USAGE, **mock}}


async def test_stream_is_relayed_as_it_arrives_and_settled_from_the_final_usage(sync_channel, make_client, admin,
                                                                                 settled_call):
    model, _ = await sync_channel(billing=PER_USAGE)
    client = await make_client(quota=100)
    started, arrivals, received = time.monotonic(), [], b""
    async with client.http.stream("POST", f"/pass/{model}",
                                  json=stream_body(stream_chunks=3, chunk_delay_ms=600)) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for chunk in response.aiter_bytes():
            arrivals.append(time.monotonic() - started)
            received += chunk
    events = [e.removeprefix("data: ") for e in received.decode().split("\n\n") if e]
    assert events[-1] == "[DONE]"
    assert [json.loads(e).get("delta") for e in events[:-1]] == ["part 0 ", "part 1 ", "part 2 ", None]
    assert json.loads(events[-2])["usage"]["total_tokens"] == 70
    assert arrivals[0] < arrivals[-1] - 1.0, arrivals  # the first part came long before the last
    task, log = await settled_call(response)
    assert task["status"] == "SUCCESS" and task["usage"]["total_tokens"] == 70
    assert (log["hold"], log["quota"], log["refund"]) == (20, 7, 13)
    assert await admin.wallet(client.user_id) == {"available": 93, "held": 0, "used": 7, "credited": 100, "debt": 0}


async def test_stream_without_a_usage_event_is_charged_the_hold(sync_channel, make_client, settled_call):
    model, _ = await sync_channel(billing=PER_USAGE)
    client = await make_client(quota=100)
    async with client.http.stream("POST", f"/pass/{model}", json=stream_body(stream_usage=False)) as response:
        assert response.status_code == 200
        text = (await response.aread()).decode()
    assert text.endswith("data: [DONE]\n\n")
    task, log = await settled_call(response)
    assert task["status"] == "SUCCESS" and task["usage"] is None
    assert (log["hold"], log["quota"], log["refund"]) == (20, 20, 0)


async def test_client_hanging_up_mid_stream_still_settles_from_the_final_usage(sync_channel, make_client, admin,
                                                                                upstream, settled_call):
    model, _ = await sync_channel(billing=PER_USAGE)
    client = await make_client(quota=100)
    async with client.http.stream("POST", f"/pass/{model}",
                                  json=stream_body(stream_chunks=5, chunk_delay_ms=300)) as response:
        assert response.status_code == 200
        async for _ in response.aiter_bytes():
            break  # the first part arrived: hang up
    task, log = await settled_call(response)
    assert task["status"] == "SUCCESS" and task["usage"]["total_tokens"] == 70
    assert (log["hold"], log["quota"], log["refund"]) == (20, 7, 13)
    assert await admin.wallet(client.user_id) == {"available": 93, "held": 0, "used": 7, "credited": 100, "debt": 0}
    assert len((await upstream.get("/_mock/requests", params={"path_contains": f"/{model}"})).json()) == 1


async def test_stream_outliving_its_deadline_is_cut_off_and_refunded(sync_channel, make_client, admin, settled_call):
    model, _ = await sync_channel(billing=PER_USAGE, task_lifetime_s=1)
    client = await make_client(quota=100)
    async with client.http.stream("POST", f"/pass/{model}",
                                  json=stream_body(stream_chunks=10, chunk_delay_ms=400)) as response:
        assert response.status_code == 200 and response.headers[TASK_ID_HEADER]
        text = (await response.aread()).decode()
    assert text.startswith("data: ") and "[DONE]" not in text
    last = text.strip().split("\n\n")[-1]
    assert last.startswith("event: error\ndata: ")
    assert json.loads(last.split("data: ", 1)[1])["code"] == "upstream_timeout"
    task, log = await settled_call(response)
    assert task["status"] == "FAILURE" and task["fail_reason"] == "upstream_error"
    assert (log["hold"], log["quota"], log["refund"]) == (20, 0, 20)
    assert await admin.wallet(client.user_id) == {"available": 100, "held": 0, "used": 0, "credited": 100, "debt": 0}
