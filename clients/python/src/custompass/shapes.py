"""Answers -> models, one place for the shapes of each API family."""
from __future__ import annotations

from typing import Any

from custompass.models import Task


def task_of(body: dict[str, Any]) -> Task:
    """A task in any dialect: `/pass` (`task_id`), the Task API's `{"success", "data": {...}}`
    (`id`), dispatch (`taskId`)."""
    if isinstance(body.get("data"), dict) and "success" in body:
        body = body["data"]
    return Task.model_validate(body)
