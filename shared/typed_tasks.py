"""The Task API (seed 001) on the task engine: a typed task is an ordinary async task whose
`api` is `API`, so holds, polling, settlement and reconciliation treat it like any other.

A typed task that has not started (`pending` in the Task API's words) this long after its
creation fails with the seed's message and is refunded; the poller applies it (`services/poller`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.status import to_task_api_status

if TYPE_CHECKING:  # the record is only a type here
    from shared.task_record import Task

API = "task"
START_TIMEOUT_REASON = "start_timeout"
START_TIMEOUT_MESSAGE = "任务超时(10分钟未处理)"  # the seed's own words, whatever the configured timeout
# Where an upstream's result may carry the output images, in the order looked at.
RESULT_URL_FIELDS = ("urls", "url", "resultUrls")


def not_started(task: Task) -> bool:
    return to_task_api_status(task.status.value) == "pending"


def result_urls(result: Any) -> list[str]:
    """The output URLs of an upstream result: the first of `RESULT_URL_FIELDS` present, a
    string or a list of strings; anything else yields none."""
    if not isinstance(result, dict):
        return []
    for field in RESULT_URL_FIELDS:
        found = result.get(field)
        if isinstance(found, str):
            return [found]
        if isinstance(found, list):
            return [url for url in found if isinstance(url, str)]
    return []
