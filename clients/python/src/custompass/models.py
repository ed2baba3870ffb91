"""Pydantic models of the gateway's public answers (docs/openapi.json), kept small: the fields a
client uses, typed; any other field the gateway adds is kept (`extra="allow"`), never an error."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

# Terminal words of each dialect: /pass (completed, failed), Task API (success, failed),
# dispatch (completed, failed).
TERMINAL_STATUSES = frozenset({"completed", "failed", "success"})
FAILED_STATUSES = frozenset({"failed"})


class _Public(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Task(_Public):
    """A task as `fetch`, `submit`, `GET /api/task/{id}` or `GET /api/tasks` show it."""
    task_id: str = Field(validation_alias=AliasChoices("task_id", "taskId", "id"))
    status: str
    progress: str | None = None
    result: Any = None
    error: str | None = None
    model: str | None = None
    mode: str | None = None
    created_at: Any = None
    updated_at: Any = None
    finished_at: Any = None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def failed(self) -> bool:
        return self.status in FAILED_STATUSES


class TaskList(_Public):
    """`GET /api/tasks`: own tasks, newest first."""
    data: list[Task]
    total: int
    limit: int
    offset: int


class WalletInUsd(_Public):
    quota_per_usd: int
    available: str
    held: str
    used: str
    credited: str
    debt: str


class Wallet(_Public):
    """`GET /api/wallet`, in integer quota units (and USD strings for display)."""
    available: int
    held: int
    used: int
    credited: int
    debt: int = 0
    usd: WalletInUsd | None = None


class ModelBilling(_Public):
    mode: str = "per_call"
    price: int = 0
    precharge: int | None = None
    usage_field: str | None = None


class Model(_Public):
    """One model the caller may use (`GET /api/models`), priced for the caller's group."""
    id: str
    mode: Literal["sync", "async", "dispatch"] | str
    endpoint: str
    group: str | None = None
    billing: ModelBilling
    price_ratio: str
    price: str
    hold: int


class ModelList(_Public):
    group: str
    data: list[Model]


class TaskEvent(_Public):
    """One event of a task's stream: `status`, `progress` or `done` (the terminal task)."""
    id: str | None = None
    event: str = "message"
    task: Task | None = None
    data: Any = None

    @property
    def done(self) -> bool:
        return self.event == "done"
