"""Kafka in traces: a PRODUCER span per publish, its context in the message's `traceparent` header;
a CONSUMER span per message handled, a child of the context its header carries."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from aiokafka import ConsumerRecord
from faststream import BaseMiddleware
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind

from shared import tracing

TASK_ID_PREFIX = "task_"  # shared.ids.new_task_id


def task_id_of(payload: Any) -> str | None:
    """The task an event is about: its `task_id`, else its correlation id when that names a task
    (hold events carry the task id only as their correlation id; top-ups carry a user id)."""
    if not isinstance(payload, dict):
        return None
    task_id = payload.get("task_id") or payload.get("correlation_id")
    return task_id if isinstance(task_id, str) and task_id.startswith(TASK_ID_PREFIX) else None


@contextlib.contextmanager
def publishing(topic: str, key: str, task_id: str | None) -> Iterator[dict[str, str]]:
    """The headers that carry the publish's span to its consumers ({} while tracing is off). The
    span's parent is the task's own context when a batch of several is being handled, else the
    current span."""
    tracer = tracing.tracer()
    if tracer is None:
        yield {}
        return
    attributes = {"messaging.system": "kafka", "messaging.destination.name": topic,
                  "messaging.kafka.message.key": key, **({tracing.TASK_ID: task_id} if task_id else {})}
    with tracer.start_as_current_span(f"publish {topic}", tracing.context_for(key), SpanKind.PRODUCER,
                                      attributes):
        headers: dict[str, str] = {}
        tracing.inject(headers)
        yield headers


def consuming(records: tuple[ConsumerRecord, ...], payloads: list[Any]) -> contextlib.AbstractContextManager:
    """`tracing.handling` for a batch of records of one topic and their decoded payloads."""
    topic = records[0].topic
    return tracing.handling(f"process {topic}", SpanKind.CONSUMER,
                            (_work_item(record, payload) for record, payload in zip(records, payloads)),
                            {"messaging.system": "kafka", "messaging.destination.name": topic})


def _work_item(record: ConsumerRecord, payload: Any) -> tuple[str, str | None, Context]:
    key = record.key.decode("utf-8", "replace") if record.key else ""
    headers = {name: value.decode("latin-1") for name, value in record.headers or ()}
    return key, task_id_of(payload), tracing.extract(headers)


class ConsumeSpans(BaseMiddleware):
    """FastStream middleware on every subscriber (`shared.kafka.make_broker` adds it while tracing is
    on): a batch's handler runs inside `consuming`, one CONSUMER span per message."""

    async def consume_scope(self, call_next, msg):
        raw = msg.raw_message
        decoded = await msg.decode()  # FastStream caches it: the handler's own decoding is this one
        records, payloads = (raw, decoded) if isinstance(raw, tuple) else ((raw,), [decoded])
        with consuming(records, payloads):
            return await call_next(msg)
