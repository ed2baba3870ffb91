"""Every client operation, written once as a generator of steps (see `protocol.py`).

Internal generators `return` their value (`yield from` composes them); the public ones end by
`yield Emit(value)`, which is all a driver hands to the caller."""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Generator
from typing import Any
from urllib.parse import quote

import httpx

from custompass.errors import ApiError, RateLimited, StreamUnavailable, TransportError, UsageError, WaitTimeout
from custompass.models import ModelList, Task, TaskList, Wallet
from custompass.protocol import Close, Emit, Open, Plan, ReadLine, RetryPolicy, Send, Sleep, api_error
from custompass.shapes import task_of
from custompass.sse import SseDecoder

Steps = Generator[Any, Any, Any]
OnUpdate = Callable[[Task], None] | None

MAX_WAIT_S = 60  # the gateway's bound on `Prefer: wait=N`
STREAM_IDLE_S = 45.0  # no byte (not even a keep-alive comment) for this long: reconnect


def call(plan: Plan, policy: RetryPolicy) -> Steps:
    """Sends the plan, retrying as the policy says; returns the JSON body of a 2xx answer."""
    attempt = 0
    while True:
        outcome = yield Send(plan)
        delay = policy.delay(attempt, outcome)
        if delay is None:
            break
        attempt += 1
        yield Sleep(delay)
    if isinstance(outcome, httpx.TransportError):
        raise TransportError(f"{plan.method} {plan.path}: {outcome!r} (after {attempt + 1} attempts)") from outcome
    if outcome.status_code >= 400:
        raise api_error(outcome)
    try:
        return outcome.json()
    except ValueError:  # not the gateway (a proxy's page?) or a cut body
        raise ApiError(outcome.status_code, "malformed_answer", f"{plan.method} {plan.path}: the answer is "
                       f"not JSON: {outcome.text[:200]!r}") from None


def prefer_wait(wait: bool | int | None) -> dict[str, str]:
    if wait is None or wait is False:
        return {}
    if wait is True:
        return {"Prefer": "wait"}
    if not 1 <= int(wait) <= MAX_WAIT_S:
        raise UsageError(f"wait is 1..{MAX_WAIT_S} seconds, not {wait}")
    return {"Prefer": f"wait={int(wait)}"}


def submit(model: str, body: Any, policy: RetryPolicy, wait: bool | int | None = None,
           idempotency_key: str | None = None) -> Steps:
    """`POST /pass/{model}/submit` (see `opened`)."""
    return (yield from opened(f"/pass/{quote(model)}/submit", body, policy, wait, idempotency_key))


def submit_task(task_type: str, input_image_url: str, params: dict[str, Any] | None, policy: RetryPolicy,
                wait: bool | int | None = None, idempotency_key: str | None = None,
                callback_url: str | None = None, callback_events: list[str] | None = None) -> Steps:
    """`POST /api/task/create`, a typed task (see `opened`)."""
    body: dict[str, Any] = {"type": task_type, "inputImageUrl": input_image_url, "params": params or {}}
    if callback_url is not None:
        body["callback_url"] = callback_url
    if callback_events is not None:
        body["callback_events"] = callback_events
    return (yield from opened("/api/task/create", body, policy, wait, idempotency_key))


def dispatch(data: Any, messages: list[Any] | None, group: str, model: str, timeout_ms: int | None,
             policy: RetryPolicy, wait: bool | int | None = None, idempotency_key: str | None = None,
             callback_url: str | None = None, callback_events: list[str] | None = None) -> Steps:
    """`POST /api/openai` with `"async": true`, a task for a worker group (see `opened`)."""
    fields = {"data": data, "messages": messages, "timeout": timeout_ms, "callback_url": callback_url,
              "callback_events": callback_events}
    body = {"async": True, "group": group, "model": model, **{k: v for k, v in fields.items() if v is not None}}
    return (yield from opened("/api/openai", body, policy, wait, idempotency_key))


def opened(path: str, body: Any, policy: RetryPolicy, wait: bool | int | None,
           idempotency_key: str | None) -> Steps:
    """Opens an async task with an Idempotency-Key (generated unless given), the same on every
    retry: the gateway answers a repeat with the first attempt's task, so a retry never opens a
    second task or a second hold."""
    headers = {"Idempotency-Key": idempotency_key or f"sdk-{uuid.uuid4()}", **prefer_wait(wait)}
    read_timeout = (MAX_WAIT_S if wait is True else int(wait)) + 30.0 if wait else None
    content = body if isinstance(body, bytes) else None
    if content is not None:
        headers["Content-Type"] = "application/json"
    plan = Plan("POST", path, json=None if content is not None else body, content=content, headers=headers,
                timeout=read_timeout)
    return task_of((yield from call(plan, policy)))


def get(task_id: str, policy: RetryPolicy) -> Steps:
    """`GET /api/task/{id}`: any of the caller's tasks, whatever its model."""
    return task_of((yield from call(Plan("GET", f"/api/task/{quote(task_id, safe='')}"), policy)))


def cancel(task_id: str, model: str | None, policy: RetryPolicy) -> Steps:
    if model is None:
        model = (yield from get(task_id, policy)).model
    plan = Plan("POST", f"/pass/{quote(model or '')}/task/{quote(task_id, safe='')}/cancel")
    return task_of((yield from call(plan, policy)))


def list_tasks(policy: RetryPolicy, status: str | None, model: str | None, limit: int, offset: int) -> Steps:
    params = {"limit": limit, "offset": offset, **({"status": status} if status else {}),
              **({"model": model} if model else {})}
    return TaskList.model_validate((yield from call(Plan("GET", "/api/tasks", params=params), policy)))


def wallet(policy: RetryPolicy) -> Steps:
    return Wallet.model_validate((yield from call(Plan("GET", "/api/wallet"), policy)))


def models(policy: RetryPolicy) -> Steps:
    return ModelList.model_validate((yield from call(Plan("GET", "/api/models"), policy)))


def remaining(deadline: float | None) -> float | None:
    return None if deadline is None else deadline - time.monotonic()


def stream(task_id: str, policy: RetryPolicy, last_event_id: str | None = None,
           deadline: float | None = None, idle_s: float = STREAM_IDLE_S) -> Steps:
    """Emits the task's events until `done`. A dropped or idle stream is reopened with
    `Last-Event-ID`, so no event is missed or repeated; `StreamUnavailable` when the gateway has
    no such route; `WaitTimeout` past the deadline."""
    failures, task = 0, None
    path = f"/api/task/{quote(task_id, safe='')}/events"
    while True:
        left = remaining(deadline)
        if left is not None and left <= 0:
            raise WaitTimeout(task_id, task)
        headers = {"Accept": "text/event-stream", **({"Last-Event-ID": last_event_id} if last_event_id else {})}
        opened = yield Open(Plan("GET", path, headers=headers, timeout=idle_s if left is None else min(idle_s, left)))
        if not isinstance(opened, httpx.TransportError):
            # No such route (an older gateway) is Starlette's plain 404; a missing task has its own code.
            if opened.status_code == 405 or (opened.status_code == 404 and api_error(opened).code == "not_found"):
                raise StreamUnavailable(f"no event stream at {path} ({opened.status_code})")
            if opened.status_code >= 400 and policy.delay(failures, opened) is None:
                raise api_error(opened)
            if opened.status_code < 400:
                decoder = SseDecoder()
                while isinstance(line := (yield ReadLine()), str):
                    event = decoder.feed(line)
                    if event is not None:
                        failures, last_event_id = 0, event.id or last_event_id
                        task = event.task or task
                        yield Emit(event)
                        if event.done:
                            yield Close()
                            return
                    if deadline is not None and remaining(deadline) <= 0:  # keep-alives never end a read
                        yield Close()
                        raise WaitTimeout(task_id, task)
        yield Close()
        if isinstance(opened, httpx.TransportError) or opened.status_code >= 400:
            delay = policy.delay(failures, opened)
        else:  # the stream ended or dropped before `done`: reopen it where it stopped
            delay = policy.backoff(failures) if failures + 1 < policy.attempts else None
        if delay is None:
            raise TransportError(f"event stream of {task_id} failed {failures + 1} times in a row")
        failures += 1
        yield Sleep(delay)


def wait(task_id: str, policy: RetryPolicy, timeout: float | None, poll_interval: float = 1.0,
         on_update: OnUpdate = None, first: Task | None = None) -> Steps:
    """Emits the terminal task: from the event stream's `done`, or, where the gateway has no
    stream (or refuses one more), by polling `get`. `WaitTimeout` (with the last task seen)
    after `timeout` seconds."""
    deadline = None if timeout is None else time.monotonic() + timeout
    if first is not None and first.terminal:
        yield Emit(first)
        return
    events, outcome = stream(task_id, policy, deadline=deadline), None
    try:
        while True:
            step = events.send(outcome)
            outcome = None
            if not isinstance(step, Emit):
                outcome = yield step
            elif step.value.task is not None:
                first = step.value.task
                if on_update:
                    on_update(first)
                if step.value.done:
                    yield Emit(first)
                    return
    except (StreamUnavailable, RateLimited):
        pass
    except WaitTimeout as timed_out:
        raise WaitTimeout(task_id, first) from timed_out
    while True:
        task = yield from get(task_id, policy)
        if on_update:
            on_update(task)
        if task.terminal:
            yield Emit(task)
            return
        left = remaining(deadline)
        if left is not None and left <= 0:
            raise WaitTimeout(task_id, task)
        yield Sleep(poll_interval if left is None else min(poll_interval, left))


def run(opening: Callable[[int], Steps], policy: RetryPolicy, timeout: float | None, poll_interval: float = 1.0,
        on_update: OnUpdate = None) -> Steps:
    """Open and wait: the opening's bounded wait first (`Prefer: wait`; `opening(seconds)` is
    `submit` or `submit_task` with that wait), then `wait`."""
    started = time.monotonic()
    bound = MAX_WAIT_S if timeout is None else max(1, min(MAX_WAIT_S, int(timeout)))
    task = yield from opening(bound)
    if on_update:
        on_update(task)
    left = None if timeout is None else max(0.0, timeout - (time.monotonic() - started))
    if not task.terminal and left == 0:
        raise WaitTimeout(task.task_id, task)
    yield from wait(task.task_id, policy, left, poll_interval, on_update, first=task)


def emitted(steps: Steps) -> Steps:
    """A public operation from an internal one: its return value, emitted."""
    yield Emit((yield from steps))
