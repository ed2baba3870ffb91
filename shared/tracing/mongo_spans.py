"""MongoDB commands in traces: a CLIENT span per command sent while a span is current (a request, a
message, a task's poll), named by command and collection. Commands of background loops outside any
span (the idle sweeps' polling queries) make no span: they concern no task and would flood the
collector with one-span traces."""
from __future__ import annotations

from pymongo import monitoring
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, StatusCode

from shared import tracing
from shared.mongo_metrics import MOST_WRITES_IN_FLIGHT, collection_of


def command_listeners() -> list[monitoring.CommandListener]:
    """What `shared.mongo.connect` adds to its client: nothing while tracing is off."""
    return [CommandSpans()] if tracing.tracer() is not None else []


class CommandSpans(monitoring.CommandListener):
    """PyMongo calls the listener in the task that sends the command, so the current span is the
    parent; the reply (or failure) ends the span, found by connection and request id."""

    def __init__(self) -> None:
        self._in_flight: dict[tuple[object, int], Span] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        tracer = tracing.tracer()
        if tracer is None or not trace.get_current_span().get_span_context().is_valid:
            return
        name = event.command_name
        collection = collection_of(name, event.command)
        if len(self._in_flight) >= MOST_WRITES_IN_FLIGHT:  # a reply that never came: forget the oldest
            self._in_flight.pop(next(iter(self._in_flight))).end()
        self._in_flight[(event.connection_id, event.request_id)] = tracer.start_span(
            f"{name} {collection}".strip(), kind=SpanKind.CLIENT, attributes={
                "db.system.name": "mongodb", "db.operation.name": name, "db.collection.name": collection,
                "db.namespace": event.database_name})

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        span = self._in_flight.pop((event.connection_id, event.request_id), None)
        if span is not None:
            span.end()

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        span = self._in_flight.pop((event.connection_id, event.request_id), None)
        if span is not None:
            span.set_status(StatusCode.ERROR, str(event.failure.get("codeName") or "failed"))
            span.end()
