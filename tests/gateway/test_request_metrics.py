"""services/gateway/request_log.py's metrics: every answer counts under its route template, method and
status, a streamed one when it starts; a path no route matches counts as `unmatched`."""
from __future__ import annotations

import httpx
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

from services.gateway import metrics
from services.gateway.request_log import RequestLogMiddleware


def counted(route: str, method: str, status: str) -> float:
    return metrics.REQUESTS.labels(route, method, status)._value.get()


def observed(route: str, method: str) -> float:
    return metrics.REQUEST_SECONDS.labels(route, method)._sum.get()


async def test_answers_count_by_route_template_method_and_status():
    app = FastAPI()
    app.add_middleware(RequestLogMiddleware)

    @app.get("/things/{thing_id}")
    async def thing(thing_id: str) -> dict:
        return {"id": thing_id}

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def body():
            yield b"first"
            yield b"second"
        return StreamingResponse(body())

    before = (counted("/things/{thing_id}", "GET", "200"), counted("unmatched", "GET", "404"),
              counted("/stream", "GET", "200"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        assert (await client.get("/things/a?token=secret")).status_code == 200
        assert (await client.get("/things/b")).status_code == 200
        assert (await client.get("/nowhere")).status_code == 404
        assert (await client.get("/stream")).content == b"firstsecond"
    after = (counted("/things/{thing_id}", "GET", "200"), counted("unmatched", "GET", "404"),
             counted("/stream", "GET", "200"))
    assert [a - b for a, b in zip(after, before)] == [2, 1, 1]
    assert observed("/things/{thing_id}", "GET") > 0
