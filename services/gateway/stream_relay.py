"""Relaying a streamed (`text/event-stream`) upstream answer to the client as it arrives.

The upstream is read by a task of its own, not by the response's body iterator: when a client
hangs up, the server cancels the iterator, and anything it awaited while cleaning up would be
cancelled too. The reader instead carries on to the end of the upstream's answer (bounded by the
deadline), watching it for the final usage, then hands that to `finish` — so the task is
finished and settled from the real usage whatever the client did.
"""
from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx

from services.gateway.background import BackgroundWork
from shared.upstream.custompass import UpstreamCall, transport_errors
from shared.upstream.errors import UpstreamError, UpstreamTimeout
from shared.upstream.sse import UsageWatcher

Finish = Callable[[UsageWatcher, UpstreamError | None], Awaitable[object]]

# Chunks buffered for a slow client; a client that takes none for the call's timeout counts as gone.
BUFFERED_CHUNKS = 256
_END = b""


class StreamRelay:
    def __init__(self, answer: httpx.Response, call: UpstreamCall, deadline_s: float, finish: Finish) -> None:
        self._answer, self._call, self._deadline_s, self._finish = answer, call, deadline_s, finish
        self._chunks: asyncio.Queue[bytes] = asyncio.Queue(maxsize=BUFFERED_CHUNKS)
        self._client_gone = False

    def start(self, background: BackgroundWork, name: str) -> AsyncIterator[bytes]:
        """Starts reading the upstream; returns the body to send to the client."""
        background.start(self._pump(), name=name)
        return self._relay()

    async def _relay(self) -> AsyncIterator[bytes]:
        try:
            while chunk := await self._chunks.get():
                yield chunk
        finally:
            self._client_gone = True  # nothing awaited here: this may run inside a cancelled scope

    async def _pump(self) -> None:
        watcher, error = UsageWatcher(), None
        try:
            error = await self._read(watcher)
            if error is not None:  # the client has had part of the answer: say why it ends here
                await self._deliver(_error_event(error))
            await self._deliver(_END)
        finally:
            await self._finish(watcher, error)

    async def _read(self, watcher: UsageWatcher) -> UpstreamError | None:
        try:
            async with asyncio.timeout(self._deadline_s):
                with transport_errors(self._call):
                    async for chunk in self._answer.aiter_bytes():
                        if not chunk:
                            continue  # an empty chunk would read as the end to the client's side
                        watcher.feed(chunk)
                        await self._deliver(chunk)
        except UpstreamError as exc:
            return exc
        except TimeoutError:
            return UpstreamTimeout(f"upstream stream did not end within {self._deadline_s}s")
        finally:
            await self._answer.aclose()
        return None

    async def _deliver(self, chunk: bytes) -> None:
        if self._client_gone:
            return  # keep reading the upstream for its usage; nobody takes the bytes any more
        try:
            await asyncio.wait_for(self._chunks.put(chunk), self._call.timeout_s)
        except TimeoutError:
            self._client_gone = True


def _error_event(error: UpstreamError) -> bytes:
    return b"event: error\ndata: " + json.dumps({"code": error.code, "message": error.message}).encode() + b"\n\n"
