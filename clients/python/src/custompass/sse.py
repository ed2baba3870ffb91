"""Server-sent events, decoded line by line (the WHATWG event-stream rules that matter here):
`field: value`, one leading space dropped, `data` lines joined by newlines, a blank line ends an
event, a line starting with `:` is a comment (the gateway's `: keep-alive`)."""
from __future__ import annotations

import json

from pydantic import ValidationError

from custompass.models import TaskEvent
from custompass.shapes import task_of


class SseDecoder:
    def __init__(self) -> None:
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None

    def feed(self, line: str) -> TaskEvent | None:
        """One line (without its line break); returns the event a blank line completes."""
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._id = value
        return None

    def _dispatch(self) -> TaskEvent | None:
        if not self._data:
            self._event = ""
            return None
        text = "\n".join(self._data)
        event, self._event, self._data = self._event or "message", "", []
        try:
            data = json.loads(text)
        except ValueError:
            data = text
        try:
            task = task_of(data) if isinstance(data, dict) else None
        except ValidationError:
            task = None
        return TaskEvent(id=self._id, event=event, task=task, data=data)
