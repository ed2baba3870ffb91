"""FastAPI app of the mock CustomPass upstream: the upstream protocol plus `/_mock` controls."""
from __future__ import annotations

import asyncio
import json
import os
import secrets
import time
from dataclasses import dataclass
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from pydantic import ValidationError

from tools.mock_upstream.sample_image import sample_png
from tools.mock_upstream.scenario import MockState, Scenario, Task

upstream = APIRouter()
control = APIRouter(prefix="/_mock")


class EnvelopeError(Exception):
    """Raised anywhere in a handler to answer with an error envelope."""

    def __init__(self, http_status: int, code: int, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.http_status, self.code, self.message, self.headers = http_status, code, message, headers


def ok(data: Any = None, **extra: Any) -> dict[str, Any]:
    return {"code": 0, "msg": "success", "message": "", "data": data, **extra}


def error_body(code: int, message: str) -> dict[str, Any]:
    return {"code": code, "msg": "error", "message": message, "data": None}


def _state(request: Request) -> MockState:
    return request.app.state.mock


@dataclass
class Intake:
    body: Any  # parsed JSON, raw text when it is not JSON, None when empty
    mock: dict[str, Any] | None
    wants_precharge: bool


async def intake(request: Request) -> Intake:
    """Record the request, then enforce the optional key.

    Recording comes first so tests can also assert on requests that were refused.
    """
    raw = await request.body()
    body: Any = None
    if raw:
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", errors="replace")
    query: dict[str, Any] = {}
    for name, value in request.query_params.multi_items():
        query.setdefault(name, []).append(value)
    _state(request).record({
        "method": request.method,
        "path": request.url.path,
        "query": {k: v[0] if len(v) == 1 else v for k, v in query.items()},
        "headers": {k.lower(): v for k, v in request.headers.items()},
        "body": body,
        "at": time.time(),
    })
    key = request.app.state.required_key
    if key is not None:
        given = request.headers.get("authorization", "")
        if not secrets.compare_digest(given.encode(), f"Bearer {key}".encode()):
            raise EnvelopeError(401, 401, "invalid key")
    mock = body.get("mock") if isinstance(body, dict) else None
    if mock is not None and not isinstance(mock, dict):
        raise EnvelopeError(400, 400, "mock must be an object")
    wants_precharge = isinstance(body, dict) and body.get("precharge") is True
    return Intake(body=body, mock=mock, wants_precharge=wants_precharge)


def _scenario(request: Request, model: str, got: Intake) -> Scenario:
    try:
        return _state(request).scenario_for(model, got.mock)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise EnvelopeError(400, 400, f"invalid mock scenario: {problems}") from exc


async def _early_answer(sc: Scenario) -> Response | None:
    """Delay, then the outcomes that replace a normal answer on sync and submit calls."""
    if sc.delay_ms:
        await asyncio.sleep(sc.delay_ms / 1000)
    if sc.outcome == "http_error":
        return PlainTextResponse("upstream exploded", status_code=sc.http_status)
    if sc.outcome == "malformed":
        if sc.malformed_body == "missing_code":
            return JSONResponse({"msg": "success", "data": {"note": "no code field"}})
        return Response('{"code": 0, "data": {"task_id": ', media_type="application/json")
    if sc.outcome == "error":
        return JSONResponse(error_body(sc.error_code, sc.error_message))
    return None


def _precharge_answer(sc: Scenario) -> dict[str, Any]:
    # The precharge answer carries no data: it only quotes the estimated usage.
    return {"code": 0, "msg": "success", "message": "", "type": "precharge",
            "usage": sc.precharge_wire()}


async def _hang_until_disconnect(request: Request) -> None:
    while not await request.is_disconnected():
        await asyncio.sleep(0.05)


async def _status_gate(request: Request, model: str, tasks: list[Task]) -> None:
    """Count a status query, refuse it over the rate limit, apply the poll delay."""
    state = _state(request)
    state.stats["status_queries"] += 1
    if not state.admit_status_query(model, state.rate_limit_for(model, tasks)):
        raise EnvelopeError(429, 429, "rate limited", headers={"Retry-After": "1"})
    delay_ms = max([t.scenario.poll_delay_ms for t in tasks] + [state.faults.get("poll_delay_ms", 0)])
    if delay_ms:
        await asyncio.sleep(delay_ms / 1000)


@upstream.post("/{model}")
async def sync_call(model: str, request: Request, got: Intake = Depends(intake)) -> Any:
    sc = _scenario(request, model, got)
    precharge = got.wants_precharge and sc.precharge
    _state(request).stats["precharge_calls" if precharge else "sync_calls"] += 1
    if (early := await _early_answer(sc)) is not None:
        return early
    if precharge:
        return _precharge_answer(sc)
    if sc.outcome == "fail":
        return error_body(sc.error_code, sc.fail_error)
    if sc.outcome == "never":
        await _hang_until_disconnect(request)
        return Response(status_code=499)  # nobody is listening any more
    call_id = f"sync_{secrets.token_hex(8)}"
    if sc.stream:
        return StreamingResponse(_events(sc, call_id), media_type="text/event-stream")
    data = {"id": call_id, "model": model, "echo": got.body, "result": sc.result_for(call_id)}
    return ok(data, usage=sc.usage.as_wire())


async def _events(sc: Scenario, call_id: str) -> AsyncIterator[bytes]:
    """A streamed sync answer, shaped like the OpenAI-style streams gateways relay."""
    for index in range(sc.stream_chunks):
        if index and sc.chunk_delay_ms:
            await asyncio.sleep(sc.chunk_delay_ms / 1000)
        yield _event({"id": call_id, "index": index, "delta": f"part {index} "})
    if sc.stream_usage:
        yield _event({"id": call_id, "usage": sc.usage.as_wire()})
    yield b"data: [DONE]\n\n"


def _event(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


@upstream.post("/{model}/submit")
async def submit(model: str, request: Request, got: Intake = Depends(intake)) -> Any:
    sc = _scenario(request, model, got)
    precharge = got.wants_precharge and sc.precharge
    if precharge:
        _state(request).stats["precharge_calls"] += 1
    if (early := await _early_answer(sc)) is not None:
        return early
    if precharge:
        return _precharge_answer(sc)
    task = _state(request).create_task(model, sc)
    return ok({"task_id": task.task_id, "status": "submitted", "progress": "0%"})


@upstream.post("/{model}/task/list-by-condition")
async def list_by_condition(model: str, request: Request, got: Intake = Depends(intake)) -> Any:
    ids = got.body.get("task_ids") if isinstance(got.body, dict) else None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise EnvelopeError(400, 400, "task_ids must be a list of strings")
    known = _state(request).tasks
    # dict.fromkeys: a repeated id is one task, so it is polled once per query. Like a real upstream,
    # a model's endpoint knows only the tasks submitted to that model.
    tasks = [known[i] for i in dict.fromkeys(ids) if i in known and known[i].model == model]
    await _status_gate(request, model, tasks)
    return ok([t.advance() for t in tasks])


@upstream.get("/{model}/task/{task_id}/fetch")
async def fetch(model: str, task_id: str, request: Request, got: Intake = Depends(intake)) -> Any:
    task = _state(request).tasks.get(task_id)
    await _status_gate(request, model, [task] if task else [])
    if task is None:
        raise EnvelopeError(404, 404, "task not found")
    return ok(task.advance())


@control.get("/requests")
async def list_requests(request: Request, path_contains: str | None = None,
                        method: str | None = None) -> list[dict[str, Any]]:
    return _state(request).find_requests(path_contains, method)


@control.delete("/requests")
async def clear_requests(request: Request) -> dict[str, Any]:
    _state(request).requests.clear()
    return ok()


@control.get("/tasks")
async def list_tasks(request: Request) -> list[dict[str, Any]]:
    return [t.describe() for t in _state(request).tasks.values()]


@control.get("/stats")
async def stats(request: Request) -> dict[str, int]:
    return dict(_state(request).stats)


@control.get("/scenarios")
async def list_scenarios(request: Request) -> dict[str, Any]:
    return {m: s.model_dump(exclude_unset=True) for m, s in _state(request).defaults.items()}


@control.put("/scenarios/{model}")
async def put_scenario(model: str, scenario: Scenario, request: Request) -> dict[str, Any]:
    # Stored as validated, keeping which fields were set so request mocks merge over it.
    _state(request).defaults[model] = scenario
    return scenario.model_dump(exclude_unset=True)


@control.get("/faults")
async def get_faults(request: Request) -> dict[str, Any]:
    return _state(request).faults


@control.put("/faults")
async def put_faults(faults: Scenario, request: Request) -> dict[str, Any]:
    """Scenario fields every request obeys until `DELETE /_mock/faults`, whatever it asks for."""
    _state(request).faults = faults.model_dump(exclude_unset=True)
    return _state(request).faults


@control.delete("/faults")
async def clear_faults(request: Request) -> dict[str, Any]:
    _state(request).faults = {}
    return ok()


@control.delete("/scenarios")
async def clear_scenarios(request: Request) -> dict[str, Any]:
    _state(request).defaults.clear()
    return ok()


@control.get("/sample.png")
async def sample_image(request: Request) -> Response:
    """A picture to name as `inputImageUrl` in demos (make run allow-lists this host)."""
    return Response(request.app.state.sample_png, media_type="image/png")


@control.post("/hooks")
async def receive_hook(request: Request) -> Response:
    """A webhook receiver for demos (make run allow-lists this host): keeps each POST's
    Standard Webhooks headers and body, answers 204."""
    raw = await request.body()
    try:
        body: Any = json.loads(raw)
    except ValueError:
        body = raw.decode("utf-8", "replace")
    names = ("webhook-id", "webhook-timestamp", "webhook-signature", "x-custompass-event")
    hooks = request.app.state.hooks
    hooks.append({"headers": {n: request.headers.get(n) for n in names}, "body": body})
    del hooks[:-1000]  # the latest thousand
    return Response(status_code=204)


@control.get("/hooks")
async def list_hooks(request: Request) -> list[dict[str, Any]]:
    """The webhooks received, oldest first."""
    return request.app.state.hooks


@control.post("/reset")
async def reset(request: Request) -> dict[str, Any]:
    _state(request).reset()
    return ok()


async def _envelope_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, EnvelopeError)
    return JSONResponse(error_body(exc.code, exc.message), status_code=exc.http_status,
                        headers=exc.headers)


def create_app(required_key: str | None = None) -> FastAPI:
    """One app = one independent in-memory upstream.

    Without an explicit key, MOCK_UPSTREAM_KEY (if set and non-empty) turns the
    bearer check on, so `uvicorn --factory` deployments can enable it too.
    """
    app = FastAPI(title="mock CustomPass upstream", docs_url="/_mock/docs",
                  openapi_url="/_mock/openapi.json", redoc_url=None)
    app.state.mock = MockState()
    app.state.sample_png = sample_png()
    app.state.hooks = []
    app.state.required_key = required_key or os.environ.get("MOCK_UPSTREAM_KEY") or None
    # Control routes first, so no upstream route pattern can shadow them.
    app.include_router(control)
    app.include_router(upstream)
    app.add_exception_handler(EnvelopeError, _envelope_error)
    return app
