"""The SDK's core without a gateway (httpx.MockTransport): a stream that drops is reopened with
Last-Event-ID, a gateway without streams is polled, and which answers are retried."""
from __future__ import annotations

import json

import httpx
import pytest

from custompass import ApiError, AsyncClient, Client, RateLimited, RetryPolicy

FAST = RetryPolicy(base_delay=0.001, max_delay=0.01)


def event(n: int, kind: str, status: str, progress: str) -> bytes:
    task = {"task_id": "task_1", "status": status, "progress": progress, "model": "m"}
    return f"id: {n}\nevent: {kind}\ndata: {json.dumps(task)}\n\n".encode()


class Dropping(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body that sends its chunks and then fails as a dropped connection does."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = chunks

    def __iter__(self):
        yield from self.chunks
        raise httpx.ReadError("connection dropped")

    async def __aiter__(self):
        for chunk in self.chunks:
            yield chunk
        raise httpx.ReadError("connection dropped")


def dropping_then_done(seen: list[httpx.Request]):
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if "last-event-id" not in request.headers:
            return httpx.Response(200, headers={"content-type": "text/event-stream"},
                                  stream=Dropping(b": keep-alive\n\n", event(1, "status", "processing", "0%"),
                                                  event(2, "progress", "processing", "50%")))
        return httpx.Response(200, headers={"content-type": "text/event-stream"},
                              content=event(3, "done", "completed", "100%"))
    return handle


def test_a_dropped_stream_is_reopened_with_last_event_id():
    seen: list[httpx.Request] = []
    with Client("http://gw", "k", retry=FAST, transport=httpx.MockTransport(dropping_then_done(seen))) as client:
        events = list(client.stream("task_1"))
    assert [(e.id, e.event, e.task.progress) for e in events] == [("1", "status", "0%"), ("2", "progress", "50%"),
                                                                  ("3", "done", "100%")]
    assert [r.headers.get("last-event-id") for r in seen] == [None, "2"]
    assert seen[0].url.path == "/api/task/task_1/events" and seen[0].headers["authorization"] == "Bearer k"


async def test_the_async_client_waits_through_the_same_reconnect():
    seen: list[httpx.Request] = []
    async with AsyncClient("http://gw", "k", retry=FAST,
                           transport=httpx.MockTransport(dropping_then_done(seen))) as client:
        done = await client.wait("task_1", timeout=10)
    assert done.status == "completed" and [r.headers.get("last-event-id") for r in seen] == [None, "2"]


def test_a_gateway_without_streams_is_polled():
    polls = []

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/events"):
            return httpx.Response(404, json={"code": "not_found", "message": "Not Found"})
        polls.append(request)
        status = "completed" if len(polls) >= 3 else "processing"
        return httpx.Response(200, json={"task_id": "task_1", "status": status, "progress": "0%"})

    with Client("http://gw", "k", retry=FAST, transport=httpx.MockTransport(handle)) as client:
        assert client.wait("task_1", timeout=10, poll_interval=0.001).status == "completed"
    assert len(polls) == 3 and polls[0].url.path == "/api/task/task_1"


def test_retries_503_and_429_with_retry_after_but_not_429_without():
    answers = [httpx.Response(503, headers={"retry-after": "0"}, json={"code": "billing_unavailable", "message": "x"}),
               httpx.Response(429, headers={"retry-after": "0"}, json={"code": "rate_limited", "message": "x"}),
               httpx.Response(200, json={"task_id": "task_1", "status": "processing", "progress": "0%"}),
               httpx.Response(429, json={"code": "too_many_in_flight", "message": "x"})]
    keys = []

    def handle(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers["idempotency-key"])
        return answers.pop(0)

    with Client("http://gw", "k", retry=FAST, transport=httpx.MockTransport(handle)) as client:
        assert client.submit("m", {"prompt": "x"}).task_id == "task_1"
        with pytest.raises(RateLimited) as refused:
            client.submit("m", {"prompt": "x"})
    assert len(set(keys[:3])) == 1 and keys[3] != keys[0]  # one key per submit, the same on its retries
    assert refused.value.code == "too_many_in_flight" and refused.value.status == 429


def test_an_answer_that_is_not_json_is_an_api_error():
    page = httpx.MockTransport(lambda request: httpx.Response(200, text="<html>proxy login</html>"))
    with Client("http://gw", "k", retry=FAST, transport=page) as client:
        with pytest.raises(ApiError) as malformed:
            client.wallet()
    assert (malformed.value.status, malformed.value.code) == (200, "malformed_answer")
