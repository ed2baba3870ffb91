"""An AsyncAPI 3.0 document of the Kafka events: one channel per topic of shared/topics.py, the
payload schema of each message from its pydantic model in shared/events.py, and who sends and
receives what."""
from __future__ import annotations

from pydantic.json_schema import models_json_schema

from shared import topics
from shared.events import EVENT_TYPES, Event

# Which service publishes (send) and consumes (receive) each event, as the code wires it.
SENDERS = {
    "HoldRequested": ["gateway"], "TopupRequested": ["gateway"],
    "HoldPlaced": ["billing"], "HoldRejected": ["billing"], "TopupApplied": ["billing"],
    "TaskSubmitted": ["gateway"], "TaskStatusChanged": ["gateway", "poller"], "BillingSettled": ["settlement"],
    "WorkQueued": ["gateway"], "WorkerTokenRevoked": ["gateway"],
}
RECEIVERS = {
    "HoldRequested": ["billing"], "TopupRequested": ["billing"],
    "HoldPlaced": ["gateway"], "HoldRejected": ["gateway"], "TopupApplied": ["gateway"],
    "TaskSubmitted": ["poller"], "TaskStatusChanged": ["settlement"],
    "WorkQueued": ["gateway"], "WorkerTokenRevoked": ["gateway"],
}


def _message(event: type[Event]) -> dict:
    return {
        "name": event.__name__,
        "title": event.model_fields["type"].default,
        "summary": (event.__doc__ or "").strip() or event.model_fields["type"].default,
        "contentType": "application/json",
        "payload": {"$ref": f"#/components/schemas/{event.__name__}"},
        "headers": {"type": "object", "properties": {"event-type": {
            "type": "string", "const": event.model_fields["type"].default}}},
        # Keyed by correlation id (the task id, or the user id for top-ups): one task's events stay in order.
        "bindings": {"kafka": {"key": {"type": "string", "description": "correlation_id"}}},
    }


def _operations() -> dict:
    operations = {}
    for event in EVENT_TYPES:
        for action, table in (("send", SENDERS), ("receive", RECEIVERS)):
            for service in table.get(event.__name__, []):
                operations[f"{service}.{action}.{event.__name__}"] = {
                    "action": action, "channel": {"$ref": f"#/channels/{event.TOPIC}"},
                    "messages": [{"$ref": f"#/channels/{event.TOPIC}/messages/{event.__name__}"}],
                    "x-service": service,
                }
    return operations


def asyncapi_document() -> dict:
    _, schemas = models_json_schema([(event, "validation") for event in EVENT_TYPES],
                                    ref_template="#/components/schemas/{model}")
    by_topic = {topic: [e for e in EVENT_TYPES if e.TOPIC == topic] for topic in topics.ALL_TOPICS}
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "CustomPass events", "version": "1.0.0",
                 "description": "Kafka topics and event payloads. Delivery is at least once: consumers "
                                "are idempotent on the domain id (task id, hold id, operation id)."},
        "defaultContentType": "application/json",
        "channels": {topic: {"address": topic, "messages": {
            e.__name__: {"$ref": f"#/components/messages/{e.__name__}"} for e in events}}
            for topic, events in by_topic.items()},
        "operations": _operations(),
        "components": {"messages": {e.__name__: _message(e) for e in EVENT_TYPES},
                       "schemas": schemas["$defs"]},
    }
