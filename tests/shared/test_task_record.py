"""`Task` (shared/task_record.py): read from a stored document, and from a terminal event's facts
alike, so settlement settles the same task whichever way it learnt of it."""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from shared.events import SettlementFacts, TaskStatusChanged
from shared.status import TaskStatus
from shared.task_events import status_changed
from shared.task_record import Task

STORED = {
    "_id": "task_1", "user_id": "usr_1", "key_id": "key_1", "model": "flux", "channel_id": "ch_1", "mode": "sync",
    "status": "SUCCESS", "hold_id": "hold_task_1", "hold_amount": 10,
    "billing": {"mode": "per_usage", "price": 100, "price_ratio": "0.8"}, "guardrails": {"max_charge": 40},
    "usage": {"total_tokens": 250}, "upstream_cost": {"amount": "0.05", "unit": "USD", "quota": 25},
    "fail_reason": None, "callback_url": "https://hooks.example/cp", "callback_events": ["completed"],
    "created_at": "2026-12-07T10:00:00.000000Z", "finished_at": "2026-12-07T10:00:02.000000Z",
    "result": {"url": "https://x/1.png"},
    # what the record leaves to the readers that need it: the caller's request, the schedule
    "request": {"body": "{}", "query": ""}, "next_poll_at": None,
}


def test_a_stored_task_reads_as_its_fields_with_defaults_for_what_it_never_set():
    task = Task.from_document(STORED)
    assert (task.id, task.user_id, task.status, task.hold_amount, task.settled) == (
        "task_1", "usr_1", TaskStatus.SUCCESS, 10, False)
    assert (task.price_ratio, task.upstream_quota, task.review, task.fail_reason) == ("0.8", 25, None, None)
    bare = Task.from_document({"_id": "task_2", "user_id": "usr_1", "status": "QUEUED", "mode": None})
    assert (bare.mode, bare.hold_amount, bare.price_ratio, bare.upstream_quota) == ("async", 0, "1", 0)


def test_a_terminal_event_carries_every_fact_settlement_reads_of_the_stored_task():
    changed = status_changed(Task.from_document(STORED), TaskStatus.IN_PROGRESS)
    event = TaskStatusChanged.model_validate_json(changed.model_dump_json())
    assert event.settlement is not None
    told, stored = Task.from_event(event, event.settlement), Task.from_document(STORED)
    settling = ("id", "user_id", "status", *SettlementFacts.model_fields)
    assert {name: getattr(told, name) for name in settling} == {name: getattr(stored, name) for name in settling}
    assert told.result is None and stored.result == {"url": "https://x/1.png"}  # what settlement never reads


def test_every_settlement_fact_is_a_field_of_the_record():
    assert set(SettlementFacts.model_fields) <= {field.name for field in dataclasses.fields(Task)}


def test_only_the_repository_names_the_tasks_collection_or_reads_a_task_document_by_key():
    """Issue 19: one repository per collection, and no task document leaves it (shared/task_record.py).
    A module that needs a new read of tasks adds a `TaskStore` or `TaskReads` method instead."""
    root = Path(__file__).resolve().parents[2]
    names_it = re.compile(r"""db\s*\[\s*["']tasks["']\s*\]|\bdb\.tasks\b|get_collection\(\s*["']tasks["']""")
    by_key = re.compile(r"""\btask(\.get\(|\[)["']""")
    found = [f"{path.relative_to(root)}:{number}: {line.strip()}"
             for folder in ("shared", "services") for path in sorted((root / folder).rglob("*.py"))
             if path.relative_to(root).as_posix() != "shared/tasks.py"
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if names_it.search(line) or by_key.search(line)]
    assert not found, "\n".join(found)
