"""Finding the final usage in a streamed upstream answer, whatever way it is cut into chunks."""
from __future__ import annotations

from shared.upstream.sse import UsageWatcher, is_event_stream

STREAM = (b'data: {"delta": "a"}\n\n'
          b'data: {"usage": {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5}}\r\n\r\n'
          b"data: [DONE]\n\n")


def watch(*chunks: bytes) -> UsageWatcher:
    watcher = UsageWatcher()
    for chunk in chunks:
        watcher.feed(chunk)
    return watcher


def test_usage_is_found_however_the_stream_is_chunked():
    expected = {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5}
    assert watch(STREAM).usage == expected
    assert watch(*(STREAM[i:i + 1] for i in range(len(STREAM)))).usage == expected
    assert watch(STREAM[:40], STREAM[40:]).usage == expected


def test_stream_without_usage_reports_none():
    assert watch(b'data: {"delta": "a"}\n\ndata: [DONE]\n\n').usage is None


def test_inconsistent_usage_is_noted_not_used():
    watcher = watch(b'data: {"usage": {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 9}}\n\n')
    assert watcher.usage is None and "total_tokens" in watcher.usage_error


def test_other_lines_and_payloads_are_ignored():
    assert watch(b": comment\nevent: x\ndata: 12\ndata: {\"usage\": null}\ndata: not json\n\n").usage is None


def test_event_stream_content_type():
    assert is_event_stream("text/event-stream; charset=utf-8")
    assert not is_event_stream("application/json") and not is_event_stream(None)
