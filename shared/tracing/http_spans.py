"""HTTP in traces: a SERVER span per request the gateway answers, named by its route template, and a
CLIENT span per request our httpx clients send (upstreams, callbacks, result files), carrying its
context upstream in `traceparent`.

Spans name no query string and no header value: a caller's or upstream's token never leaves the
process in a trace."""
from __future__ import annotations

import httpx
from opentelemetry import context as otel_context, trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, SpanKind, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import tracing

# Scraped and probed every few seconds, by machines: not worth a trace each.
UNTRACED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class TracedAsyncClient(httpx.AsyncClient):
    """An httpx client whose every request is a CLIENT span (with tracing off, exactly httpx's).
    `send` is the one method every request of an httpx client goes through, streamed ones too (their
    span ends when the answer's head arrives)."""

    async def send(self, request: httpx.Request, **kwargs) -> httpx.Response:
        tracer = tracing.tracer()
        if tracer is None:
            return await super().send(request, **kwargs)
        url = request.url
        with tracer.start_as_current_span(request.method, kind=SpanKind.CLIENT, attributes={
                "http.request.method": request.method, "server.address": url.host,
                "server.port": url.port or (443 if url.scheme == "https" else 80), "url.path": url.path}) as span:
            carrier: dict[str, str] = {}
            tracing.inject(carrier)
            request.headers.update(carrier)
            response = await super().send(request, **kwargs)
            span.set_attribute("http.response.status_code", response.status_code)
            if response.status_code >= 400:
                span.set_status(StatusCode.ERROR, str(response.status_code))
            return response


class ServerSpans:
    """ASGI middleware: the request's SERVER span, named once routing has run (`GET
    /api/task/{task_id}`, so a name never holds an id). A caller's `traceparent` is only linked, not
    the parent: callers are untrusted, and would otherwise choose our trace ids and, by its sampled
    flag, whether their tasks are traced at all."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tracer = tracing.tracer()
        if tracer is None or scope["type"] != "http" or scope["path"] in UNTRACED_PATHS:
            return await self.app(scope, receive, send)
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]
                   if name in (b"traceparent", b"tracestate")}
        method = scope["method"]
        caller = trace.get_current_span(tracing.extract(headers)).get_span_context()
        span = tracer.start_span(method, Context(), SpanKind.SERVER, {"http.request.method": method},
                                 links=[Link(caller)] if caller.is_valid else ())
        token = otel_context.attach(trace.set_span_in_context(span))

        async def note_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                span.set_attribute("http.response.status_code", message["status"])
                if message["status"] >= 500:
                    span.set_status(StatusCode.ERROR, str(message["status"]))
            await send(message)

        try:
            with tracing.request_scope():
                await self.app(scope, receive, note_status)
        except BaseException as exc:
            span.record_exception(exc)
            span.set_status(StatusCode.ERROR, type(exc).__name__)
            raise
        finally:
            route = getattr(scope.get("route"), "path", None)
            if route is not None:
                span.update_name(f"{method} {route}")
                span.set_attribute("http.route", route)
            task_id = (scope.get("path_params") or {}).get("task_id")
            if isinstance(task_id, str):
                span.set_attribute(tracing.TASK_ID, task_id)
            otel_context.detach(token)
            span.end()
