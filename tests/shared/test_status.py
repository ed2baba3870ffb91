from typing import get_args

import pytest

from services.gateway.task_api.schemas import TaskApiStatus
from shared.status import (ACTIVE, PASS_WORDS, TASK_API_WORDS, TERMINAL, TaskStatus, UpstreamStatusWords,
                           statuses_by_word, to_dispatch_status, to_pass_status, to_task_api_status)


@pytest.mark.parametrize("status,word", [
    ("SUCCESS", "completed"), ("FAILURE", "failed"), ("IN_PROGRESS", "processing"), ("QUEUED", "processing"),
    ("SUBMITTED", "processing"), ("NOT_START", "pendding"), ("UNKNOWN", "unknown"),
])
def test_pass_dialect_matches_the_published_contract(status, word):
    assert to_pass_status(status) == word


def test_every_status_has_a_word_in_every_dialect():
    for status in TaskStatus:
        assert to_task_api_status(status) in {"pending", "processing", "success", "failed"}
        assert to_dispatch_status(status) in {"queued", "executing", "completed", "failed"}


def test_upstream_words_map_case_insensitively_and_unknown_keeps_polling():
    words = UpstreamStatusWords("completed,success,finished", "failed,error,cancelled,not_found",
                                "processing,pending,running,submitted,queued")
    assert words.map("FINISHED") is TaskStatus.SUCCESS
    assert words.map(" not_found ") is TaskStatus.FAILURE
    assert words.map("Running") is TaskStatus.IN_PROGRESS
    assert words.map("weird") is TaskStatus.UNKNOWN
    assert words.map(None) is TaskStatus.UNKNOWN


def test_channel_words_override_as_lists():
    words = UpstreamStatusWords(["done"], ["broken"], ["cooking"])
    assert words.map("done") is TaskStatus.SUCCESS and words.map("completed") is TaskStatus.UNKNOWN


def test_queued_words_narrow_the_processing_ones_and_read_as_pending_in_the_task_api():
    words = UpstreamStatusWords("completed", "failed", "processing,pending,queued", queued="pending,queued")
    assert words.map("queued") is TaskStatus.QUEUED and words.map("Pending") is TaskStatus.QUEUED
    assert words.map("processing") is TaskStatus.IN_PROGRESS
    assert [to_task_api_status(s) for s in ("NOT_START", "SUBMITTED", "QUEUED", "IN_PROGRESS")] == \
        ["pending", "pending", "pending", "processing"]


@pytest.mark.parametrize("status,task_api,dispatch", [
    ("NOT_START", "pending", "queued"), ("SUBMITTED", "pending", "executing"), ("QUEUED", "pending", "queued"),
    ("IN_PROGRESS", "processing", "executing"), ("UNKNOWN", "processing", "executing"),
    ("SUCCESS", "success", "completed"), ("FAILURE", "failed", "failed"),
])
def test_task_api_and_dispatch_dialects_name_each_status(status, task_api, dispatch):
    assert to_task_api_status(status) == task_api and to_task_api_status(TaskStatus(status)) == task_api
    assert to_dispatch_status(status) == dispatch and to_dispatch_status(TaskStatus(status)) == dispatch


def test_a_finished_status_reads_as_finished_in_every_dialect_and_a_live_one_never_does():
    for status in TaskStatus:
        words = {to_pass_status(status), to_task_api_status(status), to_dispatch_status(status)}
        if status.is_terminal:
            assert words <= {"completed", "success", "failed"}
        else:
            assert not words & {"completed", "success", "failed"}


def test_terminal_and_active_statuses_partition_them_all():
    assert set(TERMINAL) | set(ACTIVE) == set(TaskStatus) and not set(TERMINAL) & set(ACTIVE)
    assert [s for s in TaskStatus if s.is_terminal] == list(TERMINAL)


def test_a_word_that_is_no_status_is_refused_not_guessed():
    with pytest.raises(ValueError):
        to_pass_status("DONE")


def test_a_word_listed_as_success_and_failure_means_success():
    assert UpstreamStatusWords("done", "done,broken", "running").map("done") is TaskStatus.SUCCESS


@pytest.mark.parametrize("dialect", [to_pass_status, to_task_api_status, to_dispatch_status])
def test_every_word_of_a_dialect_names_the_statuses_that_read_as_it_and_each_status_once(dialect):
    words = statuses_by_word(dialect)
    for word, statuses in words.items():
        assert statuses and all(dialect(status) == word for status in statuses)
    assert sorted(s for statuses in words.values() for s in statuses) == sorted(TaskStatus)


def test_the_pass_words_a_task_list_filters_by_are_the_published_ones():
    assert PASS_WORDS == {"pendding": ("NOT_START",), "processing": ("SUBMITTED", "QUEUED", "IN_PROGRESS"),
                          "completed": ("SUCCESS",), "failed": ("FAILURE",), "unknown": ("UNKNOWN",)}


def test_the_task_api_status_parameter_accepts_exactly_the_dialect_s_words_in_its_order():
    # The literal stays written out for the type checker and the OpenAPI enum; this keeps it the dialect's.
    assert get_args(TaskApiStatus) == tuple(TASK_API_WORDS)
    assert TASK_API_WORDS["pending"] == ("NOT_START", "SUBMITTED", "QUEUED")
