"""The public methods, defined once for both clients: each builds an operation and hands it to
the client's driver (`_one` for a single result, `_iter` for a stream). On `Client` they
return values and iterators; on `AsyncClient` awaitables and async iterators."""
from __future__ import annotations

import os
from typing import Any

import httpx

from custompass import operations as ops
from custompass.errors import UsageError
from custompass.protocol import Plan, RetryPolicy

DEFAULT_TIMEOUT_S = 30.0


def settings(base_url: str | None, api_key: str | None) -> tuple[str, str]:
    """The gateway's URL and the API key: the arguments, else `CUSTOMPASS_URL` / `CUSTOMPASS_API_KEY`."""
    base_url = base_url or os.environ.get("CUSTOMPASS_URL")
    api_key = api_key or os.environ.get("CUSTOMPASS_API_KEY")
    if not base_url:
        raise UsageError("no gateway URL: pass base_url or set CUSTOMPASS_URL")
    if not api_key:
        raise UsageError("no API key: pass api_key or set CUSTOMPASS_API_KEY")
    return base_url.rstrip("/"), api_key


def http_options(base_url: str, api_key: str, timeout: float) -> dict[str, Any]:
    return {"base_url": base_url, "timeout": timeout,
            "headers": {"Authorization": f"Bearer {api_key}", "User-Agent": "custompass-python/0.1"}}


def build_request(http: httpx.Client | httpx.AsyncClient, plan: Plan) -> httpx.Request:
    timeout = None
    if plan.timeout is not None:
        timeout = httpx.Timeout(http.timeout.connect, read=plan.timeout, write=http.timeout.write,
                                pool=http.timeout.pool)
    return http.build_request(plan.method, plan.path, params=plan.params, json=plan.json,
                              content=plan.content, headers=plan.headers,
                              **({"timeout": timeout} if timeout else {}))


class Methods:
    """submit, run, submit_task, run_task, dispatch, get, wait, stream, cancel, list, wallet, models."""
    retry: RetryPolicy

    def _one(self, steps: ops.Steps) -> Any:
        raise NotImplementedError

    def _iter(self, steps: ops.Steps) -> Any:
        raise NotImplementedError

    def submit(self, model: str, body: Any, *, wait: bool | int | None = None,
               idempotency_key: str | None = None) -> Any:
        """Opens an async task (`POST /pass/{model}/submit`) -> `Task`. `wait=True` or
        `wait=N` (1..60 s) asks the gateway to answer once the task is terminal or N s passed."""
        return self._one(ops.emitted(ops.submit(model, body, self.retry, wait, idempotency_key)))

    def run(self, model: str, body: Any, *, timeout: float | None = None, poll_interval: float = 1.0,
            on_update: ops.OnUpdate = None, idempotency_key: str | None = None) -> Any:
        """Submits and waits for the terminal `Task` (bounded wait, then the event stream)."""
        def opening(wait: int) -> ops.Steps:
            return ops.submit(model, body, self.retry, wait, idempotency_key)
        return self._one(ops.run(opening, self.retry, timeout, poll_interval, on_update))

    def submit_task(self, task_type: str, input_image_url: str, params: dict[str, Any] | None = None, *,
                    wait: bool | int | None = None, callback_url: str | None = None,
                    callback_events: list[str] | None = None, idempotency_key: str | None = None) -> Any:
        """Opens a typed task of the Task API (`POST /api/task/create`) -> `Task` (its `status`
        in the Task API's words: pending, processing, success, failed). `wait` as on `submit`;
        `callback_url` / `callback_events`: its signed webhooks."""
        return self._one(ops.emitted(ops.submit_task(task_type, input_image_url, params, self.retry, wait,
                                                     idempotency_key, callback_url, callback_events)))

    def dispatch(self, data: Any = None, *, messages: list[Any] | None = None, group: str = "default",
                 model: str = "default", timeout_ms: int | None = None, wait: bool | int | None = None,
                 callback_url: str | None = None, callback_events: list[str] | None = None,
                 idempotency_key: str | None = None) -> Any:
        """Queues a task for a worker group (`POST /api/openai`, `"async": true`) -> `Task` (its
        `status` in dispatch words: queued, executing, completed, failed). `wait` as on `submit`."""
        return self._one(ops.emitted(ops.dispatch(data, messages, group, model, timeout_ms, self.retry, wait,
                                                  idempotency_key, callback_url, callback_events)))

    def run_task(self, task_type: str, input_image_url: str, params: dict[str, Any] | None = None, *,
                 timeout: float | None = None, poll_interval: float = 1.0, on_update: ops.OnUpdate = None,
                 idempotency_key: str | None = None) -> Any:
        """`submit_task` and wait for the terminal `Task`, as `run` does."""
        def opening(wait: int) -> ops.Steps:
            return ops.submit_task(task_type, input_image_url, params, self.retry, wait, idempotency_key)
        return self._one(ops.run(opening, self.retry, timeout, poll_interval, on_update))

    def get(self, task_id: str) -> Any:
        """The task as it is now -> `Task`."""
        return self._one(ops.emitted(ops.get(task_id, self.retry)))

    def wait(self, task_id: str, timeout: float | None = None, *, poll_interval: float = 1.0,
             on_update: ops.OnUpdate = None) -> Any:
        """The terminal `Task`; `WaitTimeout` (with the last task seen) after `timeout` s."""
        return self._one(ops.wait(task_id, self.retry, timeout, poll_interval, on_update))

    def stream(self, task_id: str, *, last_event_id: str | None = None) -> Any:
        """The task's `TaskEvent`s until `done`, reconnecting with `Last-Event-ID`."""
        return self._iter(ops.stream(task_id, self.retry, last_event_id))

    def cancel(self, task_id: str, *, model: str | None = None) -> Any:
        """Cancels the caller's task -> `Task` (its model is looked up when not given)."""
        return self._one(ops.emitted(ops.cancel(task_id, model, self.retry)))

    def list(self, *, status: str | None = None, model: str | None = None, limit: int = 20,
             offset: int = 0) -> Any:
        """Own tasks, newest first -> `TaskList`."""
        return self._one(ops.emitted(ops.list_tasks(self.retry, status, model, limit, offset)))

    def wallet(self) -> Any:
        """-> `Wallet`."""
        return self._one(ops.emitted(ops.wallet(self.retry)))

    def models(self) -> Any:
        """The models this key may use, priced for its group -> `ModelList`."""
        return self._one(ops.emitted(ops.models(self.retry)))
