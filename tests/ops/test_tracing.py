"""One task is one trace across every process: a stack exporting to an OTLP/HTTP receiver run by
the test (docs/operations.md#tracing)."""
from __future__ import annotations

import contextlib
import gzip
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (ExportTraceServiceRequest,
                                                                         ExportTraceServiceResponse)

from shared import topics
from tests.harness.api import eventually
from tests.harness.settled import settled_task
from tests.harness.stack import stack_clients

STACK_SERVICES = {"custompass-gateway", "custompass-billing", "custompass-poller", "custompass-settlement"}


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    name: str
    trace_id: str
    attributes: dict[str, str]


def _decoded(request: ExportTraceServiceRequest) -> list[ReceivedSpan]:
    received = []
    for resource_spans in request.resource_spans:
        resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                received.append(ReceivedSpan(resource["service.name"], span.name, span.trace_id.hex(),
                                             {a.key: a.value.string_value for a in span.attributes}))
    return received


@contextlib.contextmanager
def otlp_receiver() -> Iterator[tuple[str, list[ReceivedSpan]]]:
    """An OTLP/HTTP trace receiver (protobuf, as the SDK's exporter sends): its base URL, and the
    spans it has received so far."""
    received: list[ReceivedSpan] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            received.extend(_decoded(request))
            answer = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args) -> None:  # quiet: one export every 100 ms per process
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def steps(prefix: str, hold_placement: str) -> set[tuple[str, str]]:
    """The spans that show the task's path: submit, hold (and its reply), wake-up, poll, settlement."""
    holds = ({("custompass-gateway", "place holds")} if hold_placement == "gateway" else
             {("custompass-gateway", f"publish {prefix}{topics.HOLD_REQUESTED}"),
              ("custompass-billing", f"process {prefix}{topics.HOLD_REQUESTED}"),
              ("custompass-gateway", f"process {prefix}{topics.HOLD_PLACED}")})
    return {("custompass-gateway", "POST /pass/{model:path}/submit"), *holds,
            ("custompass-poller", f"process {prefix}{topics.TASK_SUBMITTED}"),
            ("custompass-poller", "poll tasks"),
            ("custompass-settlement", f"process {prefix}{topics.TASK_STATUS_CHANGED}"),
            ("custompass-settlement", f"publish {prefix}{topics.BILLING_SETTLED}")}


@pytest.mark.parametrize("hold_placement", ["gateway", "billing"])
async def test_a_submitted_task_is_one_trace_across_the_services(make_stack, infra, hold_placement):
    with otlp_receiver() as (endpoint, received):
        system = make_stack(OTEL_EXPORTER_OTLP_ENDPOINT=endpoint, OTEL_BSP_SCHEDULE_DELAY="100",
                            HOLD_PLACEMENT=hold_placement)
        async with stack_clients(infra, system) as (admin, db):
            _, key = await admin.user_with_key(quota=100)
            await admin.create_channel(name="traced", kind="custompass_async", base_url=system.upstream_url,
                                       models=["traced/submit"], billing={"mode": "per_call", "price": 10},
                                       poll_interval_s=0.1)
            async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30,
                                         headers={"Authorization": f"Bearer {key}"}) as http:
                response = await http.post("/pass/traced/submit", json={"mock": {"polls_before_done": 1}})
            assert response.status_code == 200, response.text
            task_id = response.json()["task_id"]
            await settled_task(db, task_id)

        async def the_whole_trace() -> list[ReceivedSpan]:
            of_task = {s.trace_id for s in received if s.attributes.get("custompass.task_id") == task_id}
            assert len(of_task) == 1, of_task  # one trace, whichever process a span comes from
            in_trace = [s for s in received if s.trace_id in of_task]
            assert steps(system.env["KAFKA_TOPIC_PREFIX"], hold_placement) <= {(s.service, s.name) for s in in_trace}
            return in_trace
        in_trace = await eventually(the_whole_trace, timeout=30)

    # Billing takes part when it places the hold; a gateway placing it writes the hold itself.
    assert {s.service for s in in_trace} == STACK_SERVICES - ({"custompass-billing"} if hold_placement == "gateway" else set())
    # Past the gateway's authentication, every span is about the task, MongoDB's and upstream calls' too.
    assert all(s.attributes.get("custompass.task_id") == task_id for s in in_trace if s.service != "custompass-gateway")
    assert {s.attributes.get("db.collection.name") for s in in_trace} >= {"tasks", "holds", "wallets"}
    assert any(s.attributes.get("url.path") for s in in_trace if s.service == "custompass-poller")  # the upstream
    submit_line = next(line for line in _log_lines(system["gateway"].log_dir / "gateway.1.log")
                       if line.get("route") == "/pass/{model:path}/submit")
    assert submit_line["task_id"] == task_id and submit_line["trace_id"] == in_trace[0].trace_id


def _log_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]
