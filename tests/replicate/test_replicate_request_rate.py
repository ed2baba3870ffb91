"""A channel's `max_requests_per_s`: the poller spaces its status queries to the upstream, however
many of the channel's tasks are due at once (the mock records when each request arrived)."""
from __future__ import annotations

import asyncio

from tests.harness.settled import settled_task


async def test_status_queries_keep_to_the_channel_rate(replicate_channel, make_client, mongo_db, replicate):
    rate = 4
    model, _ = await replicate_channel(max_requests_per_s=rate, poll_interval_s=0.2)
    client = await make_client(quota=1000)
    mock = {"run_ms": 3000, "webhook_delay_ms": 60000}  # finished by polling alone
    submitted = await asyncio.gather(*(client.submit(model, {"mock": mock}) for _ in range(6)))
    tasks = [await settled_task(mongo_db, answer.json()["task_id"]) for answer in submitted]
    assert {task["status"] for task in tasks} == {"SUCCESS"}

    reads = sorted([r["at"] for task in tasks
                    for r in await replicate.requests(f"/v1/predictions/{task['upstream_task_id']}")])
    assert len(reads) >= 12  # unpaced, six tasks due every 0.2 s would be read about 30 times a second
    busiest = max(sum(1 for t in reads if start <= t < start + 1.0) for start in reads)
    # evenly spaced: one a quarter second, so a 1 s window holds 4, or 5 when it starts on one
    assert busiest <= rate + 1, busiest
