"""shared/typed_tasks.py: which typed tasks have not started, and where a result's output URLs are."""
from __future__ import annotations

import pytest

from shared.status import TaskStatus
from shared.task_record import Task
from shared.typed_tasks import not_started, result_urls


@pytest.mark.parametrize("status,waiting", [
    ("NOT_START", True), ("SUBMITTED", True), ("QUEUED", True),  # the Task API's `pending`
    ("IN_PROGRESS", False), ("UNKNOWN", False), ("SUCCESS", False), ("FAILURE", False),
])
def test_a_task_has_not_started_while_the_task_api_calls_it_pending(status, waiting):
    assert not_started(Task(id="task_1", user_id="usr_1", status=TaskStatus(status))) is waiting


@pytest.mark.parametrize("result,urls", [
    ({"urls": ["https://a/1.png", "https://a/2.png"]}, ["https://a/1.png", "https://a/2.png"]),
    ({"url": "https://a/1.png"}, ["https://a/1.png"]),
    ({"resultUrls": ["https://a/1.png"]}, ["https://a/1.png"]),
    ({"urls": ["https://a/1.png", 7, None, {"u": "x"}]}, ["https://a/1.png"]),  # only strings are URLs
    ({"urls": []}, []),
    ({"url": 7}, []),
    ({}, []), (None, []), ("https://a/1.png", []), (["https://a/1.png"], []),  # not a result object
])
def test_result_urls_read_a_string_or_a_list_of_strings(result, urls):
    assert result_urls(result) == urls


def test_the_first_url_field_present_wins():
    assert result_urls({"url": "https://a/second", "urls": ["https://a/first"]}) == ["https://a/first"]
    assert result_urls({"url": "https://a/second", "resultUrls": ["https://a/third"]}) == ["https://a/second"]
