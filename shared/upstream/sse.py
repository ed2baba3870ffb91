"""Reading usage out of a streamed (`text/event-stream`) upstream answer.

A streaming upstream reports what the call consumed in a `data:` event whose JSON object has a
`usage` object, usually the last one before `data: [DONE]` (OpenAI-style streams send it the same
way). The watcher is fed the raw bytes as they pass through and keeps the last valid usage.
"""
from __future__ import annotations

import json
from typing import Any

from shared.upstream.custompass import validate_usage
from shared.upstream.errors import UpstreamMalformed

# A line longer than this is not an event we can use; dropping it bounds the memory a stream takes.
MAX_LINE_BYTES = 1 << 20


def is_event_stream(content_type: str | None) -> bool:
    return (content_type or "").split(";")[0].strip().lower() == "text/event-stream"


class UsageWatcher:
    def __init__(self) -> None:
        self.usage: dict[str, Any] | None = None
        self.usage_error: str | None = None
        self._partial = b""

    def feed(self, chunk: bytes) -> None:
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()  # an unfinished line waits for the next chunk
        if len(self._partial) > MAX_LINE_BYTES:
            self._partial = b""
        for line in lines:
            self._read_line(line.rstrip(b"\r"))

    def _read_line(self, line: bytes) -> None:
        if not line.startswith(b"data:"):
            return
        try:
            event = json.loads(line[5:])
        except ValueError:
            return  # `[DONE]` and any non-JSON payload carry no usage
        if not isinstance(event, dict) or event.get("usage") is None:
            return
        try:
            self.usage, self.usage_error = validate_usage(event["usage"]), None
        except UpstreamMalformed as exc:
            self.usage_error = exc.message  # settled at the held amount unless a valid one follows
