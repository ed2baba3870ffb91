"""`Client`: the operations driven over a blocking `httpx.Client`."""
from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx

from custompass import operations as ops
from custompass.api import DEFAULT_TIMEOUT_S, Methods, build_request, http_options, settings
from custompass.protocol import Close, Emit, Open, ReadLine, RetryPolicy, Send, Sleep


class Client(Methods):
    def __init__(self, base_url: str | None = None, api_key: str | None = None, *,
                 timeout: float = DEFAULT_TIMEOUT_S, retry: RetryPolicy | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.retry = retry or RetryPolicy()
        self._http = httpx.Client(**http_options(*settings(base_url, api_key), timeout), transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _one(self, steps: ops.Steps) -> Any:
        driven = self._drive(steps)
        try:
            return next(driven)
        finally:
            driven.close()

    def _iter(self, steps: ops.Steps) -> Iterator[Any]:
        return self._drive(steps)

    def _drive(self, steps: ops.Steps) -> Iterator[Any]:
        connection = _Connection(self._http)
        outcome = None
        try:
            while True:
                try:
                    step = steps.send(outcome)
                except StopIteration:
                    return
                outcome = None
                if isinstance(step, Emit):
                    yield step.value
                elif isinstance(step, Sleep):
                    time.sleep(step.seconds)
                else:
                    outcome = connection.perform(step)
        finally:
            connection.close()
            steps.close()


class _Connection:
    """Sends requests and holds at most one open stream."""

    def __init__(self, http: httpx.Client) -> None:
        self._http = http
        self._response: httpx.Response | None = None
        self._lines: Iterator[str] | None = None

    def perform(self, step: Any) -> Any:
        try:
            if isinstance(step, Send):
                return self._http.send(build_request(self._http, step.plan))
            if isinstance(step, Open):
                self.close()
                response = self._http.send(build_request(self._http, step.plan), stream=True)
                if response.status_code >= 300:
                    response.read()
                    response.close()
                    return response
                self._response, self._lines = response, response.iter_lines()
                return response
            if isinstance(step, ReadLine):
                return next(self._lines, None) if self._lines is not None else None
            if isinstance(step, Close):
                return self.close()
        except httpx.TransportError as exc:
            return exc
        raise TypeError(f"unknown step {step!r}")

    def close(self) -> None:
        if self._response is not None:
            self._response.close()
        self._response = self._lines = None
