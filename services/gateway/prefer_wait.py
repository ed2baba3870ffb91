"""`Prefer: wait` (RFC 7240) on the async submits: the answer comes once the task is terminal, or
after N seconds with the task as it is then; `Preference-Applied: wait=N` says the wait was
applied, and the body's status says which of the two happened. Nothing else changes: the same
single task and hold, and a replay of an Idempotency-Key waits on the task it names."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response

from services.gateway.errors import InvalidRequest
from services.gateway.task_watch import TaskWatch
from shared.task_record import Task

MAX_WAIT_S = 60


async def wait_preference(request: Request) -> int | None:
    """Seconds asked by `Prefer: wait[=N]` (1 <= N <= 60; `wait` alone is 60); None without it.
    Other preferences in the header are ignored, as RFC 7240 lets a server do."""
    for header in request.headers.getlist("prefer"):
        for preference in header.split(","):
            name, has_value, value = preference.split(";")[0].strip().partition("=")
            if name.strip().lower() != "wait":
                continue
            value = value.strip().strip('"')
            if not has_value:
                return MAX_WAIT_S
            if not value.isdigit() or not 1 <= int(value) <= MAX_WAIT_S:
                raise InvalidRequest(f"Prefer: wait takes whole seconds from 1 to {MAX_WAIT_S}",
                                     code="invalid_prefer_wait")
            return int(value)
    return None


WaitPreference = Annotated[int | None, Depends(wait_preference)]


async def waited(watch: TaskWatch, task: Task, wait_s: int | None, response: Response) -> Task:
    """The task after the wait the caller asked for (as it is, without one)."""
    if wait_s is None:
        return task
    response.headers["Preference-Applied"] = f"wait={wait_s}"
    return await watch.until_terminal(task, wait_s)
