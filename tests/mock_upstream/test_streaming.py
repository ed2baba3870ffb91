"""The mock upstream's streamed sync answers (`"stream": true`)."""
from __future__ import annotations

import json

import httpx
import pytest

from tools.mock_upstream import create_app


@pytest.fixture
async def client(monkeypatch):
    monkeypatch.delenv("MOCK_UPSTREAM_KEY", raising=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app()), base_url="http://mock") as c:
        yield c


def data_lines(text: str) -> list[str]:
    return [line.removeprefix("data: ") for line in text.split("\n\n") if line.startswith("data: ")]


async def test_stream_sends_chunks_then_usage_then_done(client):
    response = await client.post("/chat", json={"mock": {"stream": True, "stream_chunks": 2,
                                                         "usage": {"prompt_tokens": 3, "completion_tokens": 4}}})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    *events, done = data_lines(response.text)
    assert done == "[DONE]"
    parsed = [json.loads(e) for e in events]
    assert [p.get("delta") for p in parsed] == ["part 0 ", "part 1 ", None]
    assert parsed[-1]["usage"] == {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}
    assert len({p["id"] for p in parsed}) == 1


async def test_stream_without_usage_event(client):
    response = await client.post("/chat", json={"mock": {"stream": True, "stream_chunks": 1, "stream_usage": False}})
    assert data_lines(response.text) == [json.dumps({"id": json.loads(data_lines(response.text)[0])["id"],
                                                     "index": 0, "delta": "part 0 "}), "[DONE]"]


async def test_precharge_request_still_gets_a_precharge_answer_when_streaming(client):
    response = await client.post("/chat", json={"precharge": True, "mock": {"stream": True, "precharge": True}})
    assert response.json()["type"] == "precharge"
