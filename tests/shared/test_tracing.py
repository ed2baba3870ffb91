"""shared/tracing: the no-op path, trace context through message headers and task documents, the
batch rule, MongoDB command spans and the log line fields, with the SDK's in-memory exporter."""
from __future__ import annotations

import contextvars
import json
import logging
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from pymongo import monitoring

from shared import tracing
from shared.kafka import make_broker
from shared.logging import JsonFormatter
from shared.settings import CommonSettings
from shared.tracing.http_spans import ServerSpans, TracedAsyncClient
from shared.tracing.messages import ConsumeSpans, publishing, task_id_of
from shared.tracing.mongo_spans import CommandSpans, command_listeners


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(tracing.TaskIdOnSpans())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use_provider(provider)
    yield exporter
    tracing.use_provider(None)


def _log_line(**extra) -> dict:
    return json.loads(JsonFormatter("test").format(logging.makeLogRecord({"msg": "hello", "levelno": 20,
                                                                          "levelname": "INFO", **extra})))


def test_without_an_endpoint_nothing_is_installed_and_no_hook_makes_a_span():
    tracing.configure_tracing("test", CommonSettings(otel_exporter_otlp_endpoint=""))
    assert tracing.tracer() is None
    with publishing("t.task.submitted", "task_1", "task_1") as headers:
        assert headers == {}
    work = iter([("task_1", "task_1", tracing.extract({}))])
    with tracing.handling("process t", SpanKind.CONSUMER, work, {}):
        assert not trace.get_current_span().get_span_context().is_valid
        assert _log_line().get("trace_id") is None
    assert next(work, None) is not None  # not even read
    assert tracing.stored_context() == {}
    assert command_listeners() == []
    assert list(make_broker(CommonSettings(), "test").middlewares) == []


def test_a_published_header_makes_the_consumer_span_a_child_in_the_same_trace(spans):
    with tracing.tracer().start_as_current_span("request") as request:
        with publishing("t.billing.hold.requested", "task_1", "task_1") as headers:
            pass
    assert headers["traceparent"].split("-")[1] == f"{request.get_span_context().trace_id:032x}"
    with tracing.handling("process t.billing.hold.requested", SpanKind.CONSUMER,
                          [("task_1", "task_1", tracing.extract(headers))], {}):
        line = _log_line()
    publish, consume = [s for s in spans.get_finished_spans() if s.name != "request"]
    assert publish.kind is SpanKind.PRODUCER and consume.kind is SpanKind.CONSUMER
    assert consume.parent.span_id == publish.context.span_id
    assert consume.context.trace_id == request.get_span_context().trace_id
    assert consume.attributes[tracing.TASK_ID] == "task_1"
    assert line["task_id"] == "task_1" and line["trace_id"] == f"{consume.context.trace_id:032x}"
    assert line["span_id"] == f"{consume.context.span_id:016x}"
    assert list(make_broker(CommonSettings(), "test").middlewares) == [ConsumeSpans]


def test_a_task_document_carries_the_trace_to_a_later_sweep(spans):
    with tracing.tracer().start_as_current_span("submit") as submit:
        stored = tracing.stored_context()
    with tracing.handling("poll tasks", SpanKind.INTERNAL,
                          [("task_1", "task_1", tracing.resumed_context(stored.get("traceparent")))], {}):
        pass
    poll = spans.get_finished_spans()[-1]
    assert poll.context.trace_id == submit.get_span_context().trace_id
    assert tracing.resumed_context(7) == tracing.extract({})  # not ours: a new trace


def test_a_batch_of_several_traces_links_them_and_each_publish_joins_its_own_task(spans):
    parents = {}
    for task_id in ("task_a", "task_b"):
        with tracing.tracer().start_as_current_span(f"submit {task_id}") as span:
            headers: dict[str, str] = {}
            tracing.inject(headers)
            parents[task_id] = (span.get_span_context().trace_id, headers)
    work = [(task_id, task_id, tracing.extract(headers)) for task_id, (_, headers) in parents.items()]
    with tracing.handling("process t", SpanKind.CONSUMER, work, {}):
        assert "task_id" not in _log_line()  # two tasks: none is "the" task
        with publishing("t.billing.hold.placed", "task_b", "task_b"):
            pass
    finished = {s.name: s for s in spans.get_finished_spans()}
    batch = finished["process t batch"]
    assert {link.context.trace_id for link in batch.links} == {trace_id for trace_id, _ in parents.values()}
    assert finished["publish t.billing.hold.placed"].context.trace_id == parents["task_b"][0]


def test_mongo_commands_are_spans_only_under_a_current_span(spans):
    listener = CommandSpans()

    def command(request_id: int) -> None:
        started = monitoring.CommandStartedEvent({"find": "tasks", "filter": {}}, "custompass", request_id,
                                                 ("127.0.0.1", 27017), request_id)
        listener.started(started)
        listener.succeeded(monitoring.CommandSucceededEvent(timedelta(milliseconds=1), {"ok": 1}, "find", request_id,
                                                            ("127.0.0.1", 27017), request_id, "custompass"))

    command(1)  # a background loop's query: no span
    with tracing.tracer().start_as_current_span("request") as request:
        command(2)
    find = [s for s in spans.get_finished_spans() if s.name != "request"]
    assert [s.name for s in find] == ["find tasks"]
    assert find[0].parent.span_id == request.get_span_context().span_id
    assert find[0].attributes["db.collection.name"] == "tasks"


def test_the_task_of_an_event():
    assert task_id_of({"task_id": "task_1", "correlation_id": "task_1"}) == "task_1"
    assert task_id_of({"correlation_id": "task_2", "hold_id": "hold_task_2"}) == "task_2"
    assert task_id_of({"correlation_id": "user_1", "op_id": "topup:user_1:r"}) is None


def test_a_task_noted_by_a_handler_in_a_copied_context_is_on_the_whole_requests_log_lines(spans):
    with tracing.tracer().start_as_current_span("POST /pass/{model:path}/submit") as request:
        with tracing.request_scope():
            contextvars.copy_context().run(tracing.note_task, "task_1")  # as Starlette's middlewares run handlers
            line = _log_line(task_id=None)  # the request log line, which found no task id itself
    assert line["task_id"] == "task_1" and line["trace_id"] == f"{request.get_span_context().trace_id:032x}"
    assert request.attributes[tracing.TASK_ID] == "task_1"
    assert _log_line(task_id="task_2")["task_id"] == "task_2" and "task_id" not in _log_line()


async def test_an_upstream_call_is_a_client_span_whose_context_goes_upstream_and_none_while_off(spans):
    seen: list[httpx.Request] = []

    def upstream(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503)

    async with TracedAsyncClient(transport=httpx.MockTransport(upstream)) as http:
        with tracing.tracer().start_as_current_span("poll tasks"):
            await http.get("http://upstream.test/v1/query?token=secret")
        tracing.use_provider(None)
        await http.get("http://upstream.test/v1/query")
    call = next(s for s in spans.get_finished_spans() if s.kind is SpanKind.CLIENT)
    assert seen[0].headers["traceparent"].split("-")[2] == f"{call.context.span_id:016x}"
    assert "traceparent" not in seen[1].headers
    assert call.attributes["url.path"] == "/v1/query" and call.attributes["http.response.status_code"] == 503
    assert "secret" not in str(dict(call.attributes)) and call.status.is_ok is False


async def test_a_request_span_is_named_by_its_route_and_only_links_the_callers_trace(spans):
    app = FastAPI()

    @app.get("/api/task/{task_id}")
    async def task(task_id: str) -> dict:
        return {}

    @app.get("/healthz")
    async def healthz() -> dict:
        return {}

    caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"  # not sampled, the caller says
    async with httpx.AsyncClient(transport=httpx.ASGITransport(ServerSpans(app)), base_url="http://gw") as http:
        assert (await http.get("/api/task/task_1?token=secret", headers={"traceparent": caller})).status_code == 200
        await http.get("/healthz")
    [request] = spans.get_finished_spans()
    assert request.name == "GET /api/task/{task_id}" and request.kind is SpanKind.SERVER
    assert request.parent is None and request.context.trace_flags.sampled
    assert [f"{link.context.trace_id:032x}" for link in request.links] == ["0af7651916cd43dd8448eb211c80319c"]
    assert request.attributes[tracing.TASK_ID] == "task_1" and request.attributes["http.response.status_code"] == 200
