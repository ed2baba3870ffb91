"""Structured (JSON lines) logging for every service; no line carries a secret (log_redaction)."""
from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from shared.log_redaction import redact
from shared.tracing import task_fields

# `color_message` is uvicorn's copy of its message with ANSI colour codes: never in a JSON file.
_RESERVED = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self._service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line.update({k: v for k, v in record.__dict__.items() if k not in _RESERVED})
        for name, value in task_fields().items():  # the task being handled, the current span
            if line.get(name) is None:  # a record's own `task_id` wins, unless it did not know it
                line[name] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        # Masked in the finished line, so the message, extras and traceback are all covered.
        return redact(json.dumps(line, default=str, ensure_ascii=False))


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "kafka", "pymongo", "httpx", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
