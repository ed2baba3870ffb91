"""shared/task_views.py: how a task looks to each API family: the CustomPass shape (seed 000),
the task list's rows and the Task API's camelCase shape (seed 001). What a late result adds to
them is tests/shared/test_late_results.py."""
from __future__ import annotations

from shared.task_record import Task
from shared.task_views import listed_view, pass_view, task_api_view

RUNNING = {"_id": "task_1", "user_id": "usr_1", "status": "IN_PROGRESS", "progress": "40%", "model": "video-x",
           "created_at": "2026-12-02T09:00:00.000000Z"}
DONE = {**RUNNING, "status": "SUCCESS", "progress": "100%", "result": {"url": "https://up.example/v.mp4"},
        "updated_at": "2026-12-02T09:05:00.000000Z", "finished_at": "2026-12-02T09:05:00.000000Z"}
FAILED = {**RUNNING, "status": "FAILURE", "fail_reason": "upstream_failed", "error": "out of memory"}


def test_the_pass_view_speaks_the_pass_dialect_and_shows_a_result_when_there_is_one():
    assert pass_view(Task.from_document(RUNNING)) == {"task_id": "task_1", "status": "processing", "progress": "40%"}
    assert pass_view(Task.from_document(DONE)) == {"task_id": "task_1", "status": "completed", "progress": "100%",
                               "result": {"url": "https://up.example/v.mp4"}}


def test_a_failed_task_says_why_with_its_error_or_else_its_reason():
    assert pass_view(Task.from_document(FAILED))["error"] == "out of memory"
    assert pass_view(Task.from_document({**FAILED, "error": None}))["error"] == "upstream_failed"
    assert "error" not in pass_view(Task.from_document({**DONE, "error": "stale"}))  # only a failure carries one


def test_a_task_without_progress_shows_none_made():
    assert pass_view(Task.from_document({**RUNNING, "progress": None}))["progress"] == "0%"
    assert task_api_view(Task.from_document({**RUNNING, "progress": None}))["progress"] == "0%"


def test_a_listed_task_adds_what_a_list_needs():
    row = listed_view(Task.from_document(DONE))
    assert {k: row[k] for k in ("task_id", "status", "model", "mode", "created_at", "updated_at", "finished_at")} == {
        "task_id": "task_1", "status": "completed", "model": "video-x", "mode": "async",
        "created_at": DONE["created_at"], "updated_at": DONE["updated_at"], "finished_at": DONE["finished_at"]}
    assert listed_view(Task.from_document({**RUNNING, "mode": "sync"}))["mode"] == "sync"


def test_the_task_api_view_is_camel_case_in_its_own_dialect():
    typed = {**DONE, "task_type": "upscale", "input_image_url": "https://in.example/a.png", "params": '{"scale": 2}'}
    assert task_api_view(Task.from_document(typed)) == {
        "id": "task_1", "type": "upscale", "status": "success", "progress": "100%",
        "inputImageUrl": "https://in.example/a.png", "params": {"scale": 2},
        "resultUrls": ["https://up.example/v.mp4"], "errorMessage": None,
        "createdAt": DONE["created_at"], "updatedAt": DONE["updated_at"], "completedAt": DONE["finished_at"]}


def test_the_task_api_view_names_an_error_only_for_a_failure_and_defaults_the_rest():
    view = task_api_view(Task.from_document(FAILED))
    assert (view["status"], view["errorMessage"]) == ("failed", "out of memory")
    assert task_api_view(Task.from_document({**RUNNING, "error": "stale"}))["errorMessage"] is None
    assert (view["params"], view["resultUrls"], view["completedAt"]) == ({}, [], None)
    assert view["updatedAt"] == RUNNING["created_at"]  # never updated: as created
