"""shared/log_redaction.py and the JSON log lines: no credential survives into a log line."""
from __future__ import annotations

import json
import logging

import pytest

from shared.log_redaction import redact
from shared.logging import JsonFormatter

WORKER_TOKEN = "cpw-" + "A1b2_C3d4-" * 4
API_KEY = "cp-" + "z9Y8x7W6v5" * 4


@pytest.mark.parametrize("text, secret", [
    ('"WebSocket /ws?group=gpu&token=s3cr3t-value" [accepted]', "s3cr3t-value"),
    ("GET /x?api_key=abc123&page=2", "abc123"),
    ("GET /x?page=2&access_token=abc123#frag", "abc123"),
    ("POST https://h/cb?KEY=abc123", "abc123"),
    ("https://bucket/o?X-Amz-Signature=deadbeef&X-Amz-Credential=AKIA1", "deadbeef"),
    ("Authorization: Bearer opaque.jwt.value", "opaque.jwt.value"),
    (f"worker token {WORKER_TOKEN} refused", WORKER_TOKEN),
    (f"key {API_KEY}", API_KEY),
])
def test_secrets_are_masked(text, secret):
    assert secret not in redact(text) and "[redacted]" in redact(text)


def test_what_is_not_a_secret_stays():
    text = "GET /pass/video-x/task/t1/fetch?group=gpu&keyword=cat&page=2"
    assert redact(text) == text


def test_a_json_log_line_masks_the_message_its_extras_and_traceback_and_stays_json():
    record = logging.makeLogRecord({"name": "uvicorn.error", "levelno": logging.INFO, "levelname": "INFO",
                                    "msg": '%s - "WebSocket %s" [accepted]',
                                    "args": ("127.0.0.1:5", f"/ws?group=g&token={WORKER_TOKEN}"),
                                    "callback_url": "https://example.com/cb?token=t0ps3cret"})
    try:
        raise RuntimeError(f"bad key {API_KEY}")
    except RuntimeError:
        import sys
        record.exc_info = sys.exc_info()
    line = JsonFormatter("gateway").format(record)
    assert WORKER_TOKEN not in line and API_KEY not in line and "t0ps3cret" not in line
    parsed = json.loads(line)
    assert parsed["msg"] == '127.0.0.1:5 - "WebSocket /ws?group=g&token=[redacted]" [accepted]'
