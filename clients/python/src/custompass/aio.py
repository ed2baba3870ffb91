"""`AsyncClient`: the same operations driven over an `httpx.AsyncClient`."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx

from custompass import operations as ops
from custompass.api import DEFAULT_TIMEOUT_S, Methods, build_request, http_options, settings
from custompass.protocol import Close, Emit, Open, ReadLine, RetryPolicy, Send, Sleep


class AsyncClient(Methods):
    def __init__(self, base_url: str | None = None, api_key: str | None = None, *,
                 timeout: float = DEFAULT_TIMEOUT_S, retry: RetryPolicy | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.retry = retry or RetryPolicy()
        self._http = httpx.AsyncClient(**http_options(*settings(base_url, api_key), timeout), transport=transport)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def _one(self, steps: ops.Steps) -> Any:
        driven = self._drive(steps)
        try:
            return await anext(driven)
        finally:
            await driven.aclose()

    def _iter(self, steps: ops.Steps) -> AsyncIterator[Any]:
        return self._drive(steps)

    async def _drive(self, steps: ops.Steps) -> AsyncIterator[Any]:
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
                    await asyncio.sleep(step.seconds)
                else:
                    outcome = await connection.perform(step)
        finally:
            await connection.close()
            steps.close()


class _Connection:
    """Sends requests and holds at most one open stream."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http
        self._response: httpx.Response | None = None
        self._lines: AsyncIterator[str] | None = None

    async def perform(self, step: Any) -> Any:
        try:
            if isinstance(step, Send):
                return await self._http.send(build_request(self._http, step.plan))
            if isinstance(step, Open):
                await self.close()
                response = await self._http.send(build_request(self._http, step.plan), stream=True)
                if response.status_code >= 300:
                    await response.aread()
                    await response.aclose()
                    return response
                self._response, self._lines = response, response.aiter_lines()
                return response
            if isinstance(step, ReadLine):
                return await anext(self._lines, None) if self._lines is not None else None
            if isinstance(step, Close):
                return await self.close()
        except httpx.TransportError as exc:
            return exc
        raise TypeError(f"unknown step {step!r}")

    async def close(self) -> None:
        if self._response is not None:
            await self._response.aclose()
        self._response = self._lines = None
