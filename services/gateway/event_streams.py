"""A task's changes as Server-Sent Events (`GET .../task/{task_id}/events`).

Each event is `id: <n>`, `event: status | progress | done`, `data: <the task as the path's fetch
answers it>`. The first event is the task now; then one per change of that view (`status` when
its status word changed, else `progress`); `done` carries the terminal task and ends the stream.
A `: keep-alive` comment goes out every EVENT_STREAM_KEEPALIVE_S while nothing happens.

Ids are the task's `updated_at` in epoch milliseconds (raised by one where a clock step would
not move them forward), so they mean the same on every gateway: a client reconnecting anywhere
with `Last-Event-ID: n` gets the task at once when it changed after n, and otherwise the next
change. What happened between two reads of the watch is folded into the later state: a stream
never misses the latest state, nor the end.

Open streams are bounded per API key (per user for JWT callers) on each gateway:
EVENT_STREAMS_PER_KEY; one more answers 429 `too_many_streams` with Retry-After."""
from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi.responses import StreamingResponse

from services.gateway.stream_slots import StreamSlots
from services.gateway.task_watch import TaskWatch
from shared.clock import parse
from shared.task_record import Task

if TYPE_CHECKING:  # deps wires the container: only a type here
    from services.gateway.deps import CallerIdentity

Render = Callable[[Task], Awaitable[dict[str, Any]]]


def event_id(task: Task) -> int:
    stamp = task.updated_at or task.created_at
    return int(parse(stamp).timestamp() * 1000) if stamp else 0


def last_event_id(header: str | None) -> int | None:
    """A `Last-Event-ID` this gateway could have sent; anything else counts as none."""
    value = (header or "").strip()
    return int(value) if value.isdigit() and len(value) <= 18 else None


def _frame(number: int, kind: str, view: dict[str, Any]) -> str:
    return f"id: {number}\nevent: {kind}\ndata: {json.dumps(view, default=str, separators=(',', ':'))}\n\n"


def _status_of(view: dict[str, Any]) -> Any:
    return view.get("status", (view.get("data") or {}).get("status"))  # Task API views nest in `data`


async def _events(watch: TaskWatch, keepalive_s: float, task: Task, render: Render,
                  after: int | None) -> AsyncIterator[str]:
    with watch.follow(task) as follower:
        sent_id, sent_view, current = (after if after is not None else -1), None, task
        while True:
            view = await render(current)
            number = max(event_id(current), sent_id + 1)
            if current.status.is_terminal:
                yield _frame(number, "done", view)
                return
            if sent_view is None:  # the task now, unless the client saw this state before it reconnected
                if after is None or event_id(current) > after:
                    yield _frame(number, "status", view)
                    sent_id = number
            elif view != sent_view:
                yield _frame(number, "status" if _status_of(view) != _status_of(sent_view) else "progress", view)
                sent_id = number
            sent_view = view
            while (changed := await follower.next_change(keepalive_s)) is None:
                yield ": keep-alive\n\n"
            current = changed


class _StreamInSlot(StreamingResponse):
    """Gives its slot back however the stream ends (finished, client gone, shutdown)."""

    def __init__(self, body: AsyncIterator[str], release: Callable[[], None]) -> None:
        super().__init__(body, media_type="text/event-stream",
                         headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        self._release = release

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001 (ASGI's own types)
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


@dataclass(frozen=True)
class TaskEventStreams:
    """The event stream use case, given what it uses (`Container.task_event_streams` names them)."""
    watch: TaskWatch
    slots: StreamSlots
    keepalive_s: float

    def open(self, caller: CallerIdentity, task: Task, render: Render,
             last_event: str | None) -> StreamingResponse:
        """The stream of `task` (already checked to be the caller's) as `render` shows it."""
        owner = caller.key_id or f"user:{caller.user_id}"
        self.slots.take(owner)
        return _StreamInSlot(_events(self.watch, self.keepalive_s, task, render, last_event_id(last_event)),
                             lambda: self.slots.give_back(owner))
