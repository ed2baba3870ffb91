"""The canonical task status and the three public dialects derived from it."""
from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum


class TaskStatus(StrEnum):
    NOT_START = "NOT_START"
    SUBMITTED = "SUBMITTED"
    QUEUED = "QUEUED"
    IN_PROGRESS = "IN_PROGRESS"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    UNKNOWN = "UNKNOWN"

    @property
    def is_terminal(self) -> bool:
        return self in (TaskStatus.SUCCESS, TaskStatus.FAILURE)


TERMINAL = (TaskStatus.SUCCESS, TaskStatus.FAILURE)
ACTIVE = (TaskStatus.NOT_START, TaskStatus.SUBMITTED, TaskStatus.QUEUED,
          TaskStatus.IN_PROGRESS, TaskStatus.UNKNOWN)

_PASS_DIALECT = {
    TaskStatus.SUCCESS: "completed",
    TaskStatus.FAILURE: "failed",
    TaskStatus.IN_PROGRESS: "processing",
    TaskStatus.QUEUED: "processing",
    TaskStatus.SUBMITTED: "processing",
    TaskStatus.NOT_START: "pendding",  # sic: the published CustomPass contract spells it so
}

# `pending` is the seed's "waiting for a processor": accepted upstream is not started yet.
_TASK_API_DIALECT = {
    TaskStatus.NOT_START: "pending",
    TaskStatus.SUBMITTED: "pending",
    TaskStatus.QUEUED: "pending",
    TaskStatus.IN_PROGRESS: "processing",
    TaskStatus.UNKNOWN: "processing",
    TaskStatus.SUCCESS: "success",
    TaskStatus.FAILURE: "failed",
}

_DISPATCH_DIALECT = {
    TaskStatus.NOT_START: "queued",
    TaskStatus.QUEUED: "queued",
    TaskStatus.SUBMITTED: "executing",
    TaskStatus.IN_PROGRESS: "executing",
    TaskStatus.UNKNOWN: "executing",
    TaskStatus.SUCCESS: "completed",
    TaskStatus.FAILURE: "failed",
}


def to_pass_status(status: TaskStatus | str) -> str:
    """CustomPass API (`/pass/...`): anything unmapped is `unknown`."""
    return _PASS_DIALECT.get(TaskStatus(status), "unknown")


def to_task_api_status(status: TaskStatus | str) -> str:
    """Task API (`/api/task/...`): pending | processing | success | failed."""
    return _TASK_API_DIALECT[TaskStatus(status)]


def to_dispatch_status(status: TaskStatus | str) -> str:
    """Dispatch API (`/api/openai`): queued | executing | completed | failed."""
    return _DISPATCH_DIALECT[TaskStatus(status)]


def statuses_by_word(dialect: Callable[[TaskStatus], str]) -> dict[str, tuple[str, ...]]:
    """A dialect read backwards: each of its words and the canonical statuses it names, in the
    enum's order. Derived, never written out, so a filter by a word always matches what a view
    of the same statuses says."""
    words = dict.fromkeys(dialect(status) for status in TaskStatus)
    return {word: tuple(s.value for s in TaskStatus if dialect(s) == word) for word in words}


PASS_WORDS = statuses_by_word(to_pass_status)  # what `GET /api/tasks?status=<word>` lists
TASK_API_WORDS = statuses_by_word(to_task_api_status)  # what `GET /api/task/list?status=<word>` lists


class UpstreamStatusWords:
    """Maps an upstream's status word (case-insensitive) to the canonical status."""

    def __init__(self, success: str, failed: str, processing: str, queued: str = "") -> None:
        self._map: dict[str, TaskStatus] = {}
        # Later groups win a word listed twice: `queued` (accepted, not started) narrows `processing`.
        for words, status in ((processing, TaskStatus.IN_PROGRESS), (queued, TaskStatus.QUEUED),
                              (failed, TaskStatus.FAILURE), (success, TaskStatus.SUCCESS)):
            for word in _split(words):
                self._map[word] = status

    def map(self, word: object) -> TaskStatus:
        return self._map.get(str(word or "").strip().lower(), TaskStatus.UNKNOWN)


def _split(words: str | list[str]) -> list[str]:
    items = words.split(",") if isinstance(words, str) else words
    return [w.strip().lower() for w in items if w.strip()]
