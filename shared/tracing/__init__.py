"""Distributed tracing: one task is one trace across every process (docs/operations.md#tracing).

`configure_tracing` runs once per process at start-up. With `OTEL_EXPORTER_OTLP_ENDPOINT` unset it
installs nothing: every hook here and in the sibling modules returns at its first line, so a
deployment without a collector pays no span, no header and no export thread. Set, spans go through
a batching processor to an OTLP/HTTP exporter (the SDK reads the rest of its OTEL_* variables
itself: OTEL_EXPORTER_OTLP_HEADERS, OTEL_BSP_SCHEDULE_DELAY, ...).

A task's trace context travels in W3C `traceparent` headers (Kafka messages, outbound HTTP) and
in the task document (`traceparent`, written when the gateway stores it), which is how a poller
sweep, started by a timer rather than a message, continues the task's trace. The task id is an attribute of every span
that concerns one task and a field of every log line written while it is handled (`task_fields`)."""
from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from opentelemetry import context as otel_context, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Link, SpanKind, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from shared.settings import CommonSettings

TASK_ID = "custompass.task_id"
_propagator = TraceContextTextMapPropagator()
_tracer: Tracer | None = None  # None: tracing is off


@dataclass
class _TaskNote:
    """The task being handled. A mutable note, not the id itself: a request's note is made before
    its handler runs (`request_scope`), and the handler, in a context copied by Starlette's
    middlewares, fills it in where the request's own log line and span still see it."""
    task_id: str | None = None


_task_note: contextvars.ContextVar[_TaskNote | None] = contextvars.ContextVar("custompass_task", default=None)
# While a batch of several tasks is handled, each task's own context, by correlation id: an event
# published for one of them joins that task's trace, not the batch's (`messages.publishing`).
_task_contexts: contextvars.ContextVar[dict[str, Context]] = contextvars.ContextVar("custompass_task_contexts",
                                                                                     default={})


def configure_tracing(service: str, settings: CommonSettings) -> None:
    if not settings.otel_exporter_otlp_endpoint:
        return
    # Imported only when tracing is on: it brings requests and protobuf into the process.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(resource=Resource.create({
        "service.name": f"custompass-{service}", "service.instance.id": settings.instance_id}))
    provider.add_span_processor(TaskIdOnSpans())
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    use_provider(provider)


class TaskIdOnSpans(SpanProcessor):
    """Every span started while a task is being handled (a MongoDB command, an upstream call) gets
    its id, so a search by task id finds all of them."""

    def on_start(self, span, parent_context: Context | None = None) -> None:
        if (task_id := _noted_task()) is not None:
            span.set_attribute(TASK_ID, task_id)


def use_provider(provider: trace.TracerProvider | None) -> None:
    """The provider every hook records to (None: off). `configure_tracing` calls it; tests pass a
    provider with an in-memory exporter. Never the global provider: FastAPI's native telemetry
    (fastapi.telemetry) turns itself on once one is set, and would double every request's span."""
    global _tracer
    _tracer = provider.get_tracer("custompass") if provider is not None else None


def tracer() -> Tracer | None:
    """The tracer, or None while tracing is off (callers return at once)."""
    return _tracer


def inject(carrier: dict[str, str], context: Context | None = None) -> None:
    _propagator.inject(carrier, context)


def extract(carrier: dict[str, str]) -> Context:
    return _propagator.extract(carrier)


def stored_context() -> dict[str, str]:
    """What a task document keeps of the current trace, for the processes that pick the task up
    later (`resumed_context`); {} while tracing is off or nothing is traced."""
    if _tracer is None:
        return {}
    carrier: dict[str, str] = {}
    inject(carrier)
    return {"traceparent": carrier["traceparent"]} if "traceparent" in carrier else {}


def resumed_context(traceparent: str | None) -> Context:
    """The trace a task's submit stored (its `traceparent`), for the work that takes it up later."""
    return extract({"traceparent": traceparent} if isinstance(traceparent, str) else {})


def note_task(task_id: str) -> None:
    """The task the current work is about: on the current span, and on every later log line of it."""
    note = _task_note.get()
    if note is None:
        _task_note.set(_TaskNote(task_id))
    else:
        note.task_id = task_id
    if _tracer is not None:
        trace.get_current_span().set_attribute(TASK_ID, task_id)


@contextlib.contextmanager
def request_scope() -> Iterator[None]:
    """Around one request: the task its handler notes is noted for the whole request."""
    token = _task_note.set(_TaskNote())
    try:
        yield
    finally:
        _task_note.reset(token)


def _noted_task() -> str | None:
    note = _task_note.get()
    return note.task_id if note is not None else None


def task_fields() -> dict[str, str]:
    """The fields every log line gets (shared.logging): the task being handled, the current span."""
    fields = {}
    if (task_id := _noted_task()) is not None:
        fields["task_id"] = task_id
    if _tracer is not None:
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            fields["trace_id"], fields["span_id"] = f"{span.trace_id:032x}", f"{span.span_id:016x}"
    return fields


def context_for(key: str) -> Context | None:
    """The context of the task `key` names within the batch being handled, if it is one of several."""
    return _task_contexts.get().get(key)


@contextlib.contextmanager
def handling(name: str, kind: SpanKind, work: Iterable[tuple[str, str | None, Context]],
             attributes: dict[str, Any]) -> Iterator[None]:
    """Spans for handling a batch of work items, each `(key, task_id, parent context)`: one span per
    item, a child of its own parent, so each task's trace shows the step. While the batch runs, the
    current span is the item's when the batch is all of one trace (the usual single message), else
    a batch span linked to every item's; Mongo commands, HTTP calls and log lines go under it.
    `work` is only read while tracing is on: a generator costs nothing otherwise."""
    if _tracer is None:
        yield
        return
    items = list(work)
    spans = [_tracer.start_span(name, parent, kind, {**attributes, **({TASK_ID: task_id} if task_id else {})})
             for _, task_id, parent in items]
    trace_ids = {span.get_span_context().trace_id for span in spans}
    task_ids = {task_id for _, task_id, _ in items}
    contexts = {key: trace.set_span_in_context(span) for (key, _, _), span in zip(items, spans)}
    if len(trace_ids) == 1:
        current = spans[0]
    else:
        current = _tracer.start_span(f"{name} batch", None, SpanKind.INTERNAL,
                                     {**attributes, "custompass.batch_size": len(items)},
                                     links=[Link(span.get_span_context()) for span in spans])
        spans.append(current)
    attached = otel_context.attach(trace.set_span_in_context(current))
    contexts_token = _task_contexts.set(contexts)
    note_token = _task_note.set(_TaskNote(task_ids.pop() if len(task_ids) == 1 else None))
    try:
        yield
    except BaseException as exc:
        for span in spans:
            span.record_exception(exc)
            span.set_status(trace.StatusCode.ERROR, type(exc).__name__)
        raise
    finally:
        _task_note.reset(note_token)
        _task_contexts.reset(contexts_token)
        otel_context.detach(attached)
        for span in spans:
            span.end()
