"""The channel list's "Recent error rate", computed on the MongoDB stand-in itself (nx-27017
answered the former compound-`_id` `$group` with the expression unevaluated, so the column
was always "-"): failed share of each channel's tasks finished within the window."""
from __future__ import annotations

import secrets

from pymongo import AsyncMongoClient

from services.gateway.console.channel_pages import ERROR_WINDOW_S, recent_error_rates
from shared.clock import stamp_in
from shared.task_reads import TaskReads


def finished_task(channel_id: str, status: str, seconds_ago: float) -> dict:
    return {"_id": f"task_{secrets.token_hex(6)}", "channel_id": channel_id, "status": status,
            "finished_at": stamp_in(-seconds_ago)}


async def test_each_channel_shows_its_failed_share_of_recently_finished_tasks(infra):
    client = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    db = client[f"error_rates_{secrets.token_hex(4)}"]
    try:
        await db["tasks"].insert_many([
            finished_task("busy", "SUCCESS", 10), finished_task("busy", "SUCCESS", 20),
            finished_task("busy", "SUCCESS", 30), finished_task("busy", "FAILURE", 40),
            finished_task("busy", "FAILURE", ERROR_WINDOW_S + 60),  # before the window: not counted
            finished_task("broken", "FAILURE", 5),
            finished_task("elsewhere", "FAILURE", 5),  # not on this page
            {"_id": "task_running", "channel_id": "busy", "status": "IN_PROGRESS"},  # not finished
        ])
        rates = await recent_error_rates(TaskReads(db), ["busy", "broken", "idle"])
    finally:
        await client.drop_database(db.name)
        await client.close()
    assert rates == {"busy": ("25%", 4), "broken": ("100%", 1)}  # "idle" finished nothing: the page shows "-"
