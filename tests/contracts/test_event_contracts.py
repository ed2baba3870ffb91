"""Consumer-driven contracts for the events: what each consumer reads from each event is still
provided by the producer's model, and payloads of the previous schema version still decode.

Billing and settlement decode with the model (FastStream validates into it); the gateway reads
billing's replies as plain dicts, so its expectations are checked on the JSON itself and through
its own billing client.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from pydantic import TypeAdapter

from services.gateway.billing_client import BillingClient
from shared.events import (EVENT_TYPES, Event, HoldPlaced, HoldRejected, HoldRequested, TaskStatusChanged,
                           TopupApplied, TopupRequested)
from shared.settings import CommonSettings
from shared.status import TaskStatus
from tests.contracts.previous_versions import V1, V2


@dataclass(frozen=True)
class Expectation:
    consumer: str
    event: type[Event]
    reads: dict[str, type | tuple[type, ...]]  # field -> type of its JSON value

    def __str__(self) -> str:
        return f"{self.consumer}<-{self.event.__name__}"


EXPECTATIONS = [
    Expectation("billing", HoldRequested, {"correlation_id": str, "hold_id": str, "user_id": str, "amount": int}),
    Expectation("billing", TopupRequested, {"correlation_id": str, "op_id": str, "user_id": str, "amount": int}),
    Expectation("gateway", HoldPlaced, {"type": str, "hold_id": str, "amount": int}),
    Expectation("gateway", HoldRejected, {"type": str, "hold_id": str, "amount": int, "reason": str}),
    Expectation("gateway", TopupApplied, {"type": str, "op_id": str, "ok": bool, "wallet": dict}),
    Expectation("settlement", TaskStatusChanged, {"task_id": str, "status": str}),
]


def produced(event: type[Event]) -> dict:
    """What today's producer puts on the wire for the previous version's fact."""
    return json.loads(event.model_validate(V1[event.__name__]).model_dump_json())


def assert_provides(payload: dict, expectation: Expectation) -> None:
    for field, kind in expectation.reads.items():
        assert field in payload, f"{expectation}: the payload lacks {field!r}"
        assert isinstance(payload[field], kind), f"{expectation}: {field!r} is {type(payload[field]).__name__}"


@pytest.mark.parametrize("expectation", EXPECTATIONS, ids=str)
def test_producer_model_provides_what_the_consumer_reads(expectation):
    assert_provides(produced(expectation.event), expectation)
    schema = expectation.event.model_json_schema()
    for field in expectation.reads:
        # A field the consumer reads must be required or defaulted, so every producer writes it.
        assert field in schema["properties"], f"{expectation}: {field!r} left the schema"


@pytest.mark.parametrize("expectation", EXPECTATIONS, ids=str)
def test_previous_schema_version_payload_still_serves_the_consumer(expectation):
    previous = V1[expectation.event.__name__]
    assert previous["schema_version"] == 1
    assert_provides(previous, expectation)
    decoded = expectation.event.model_validate(previous)  # billing and settlement decode this way
    assert decoded.type == previous["type"]


@pytest.mark.parametrize("expectation", EXPECTATIONS, ids=str)
def test_fields_a_newer_producer_adds_are_ignored(expectation):
    newer = {**V1[expectation.event.__name__], "schema_version": 2, "added_later": {"x": 1}}
    assert expectation.event.model_validate(newer).model_dump(include=set(expectation.reads)) == \
        expectation.event.model_validate(V1[expectation.event.__name__]).model_dump(include=set(expectation.reads))


PAYLOADS_BY_VERSION = {1: V1, 2: V2}


@pytest.mark.parametrize("event", EVENT_TYPES, ids=lambda event: event.__name__)
def test_every_event_type_decodes_its_previous_schema_version(event):
    """A version N-1 producer against today's (version N) consumer, for every event type: a type
    still at version 1 has only that version to keep decoding."""
    version = max(event.model_fields["schema_version"].default - 1, 1)
    previous = PAYLOADS_BY_VERSION.get(version, {}).get(event.__name__)
    assert previous is not None, \
        f"no schema_version {version} payload of {event.__name__} in tests/contracts/previous_versions.py"
    assert previous["schema_version"] == version
    decoded = event.model_validate(previous)
    assert decoded.type == previous["type"] and decoded.correlation_id == previous["correlation_id"]
    assert json.loads(decoded.model_dump_json())["schema_version"] == previous["schema_version"]


def test_settlement_finds_terminal_tasks_in_a_batch_of_either_version():
    batch = TypeAdapter(list[TaskStatusChanged]).validate_python([V1["TaskStatusChanged"], produced(TaskStatusChanged)])
    assert {e.task_id for e in batch if e.status.is_terminal} == {"task_1"}
    assert all(e.status is TaskStatus.SUCCESS for e in batch)


def test_billing_reads_the_spending_key_from_a_version_2_hold_request_and_none_from_version_1():
    current = HoldRequested.model_validate(V2["HoldRequested"])
    assert (current.key_id, current.key_quota) == ("key_1", 500)
    assert HoldRequested(correlation_id="t", hold_id="h", user_id="u", amount=1).schema_version == 2
    previous = HoldRequested.model_validate(V1["HoldRequested"])
    assert (previous.key_id, previous.key_quota) == (None, None)  # held without a key limit, as before


@pytest.mark.parametrize("reply", ["HoldPlaced", "HoldRejected"])
@pytest.mark.parametrize("version", ["previous", "current"])
async def test_gateway_turns_billing_replies_into_hold_decisions(monkeypatch, reply, version):
    payload = V1[reply] if version == "previous" else produced({"HoldPlaced": HoldPlaced,
                                                                "HoldRejected": HoldRejected}[reply])
    client = BillingClient(CommonSettings(), publisher=None, timeout=1)

    async def answered(waiter_id, request):  # the Kafka round trip, answered with the payload
        assert waiter_id == payload["hold_id"]
        return json.loads(json.dumps(payload))
    monkeypatch.setattr(client, "_request", answered)
    decision = await client.hold("hold_task_1", "u1", 10, "task_1")
    assert decision.placed == (reply == "HoldPlaced")
    assert decision.amount == 10
    assert decision.reason == payload.get("reason")


@pytest.mark.parametrize("version", ["previous", "current"])
def test_gateway_answers_a_top_up_with_the_wallet_billing_sent(version):
    from services.gateway.schemas import WalletPublic
    payload = V1["TopupApplied"] if version == "previous" else produced(TopupApplied)
    assert payload["ok"] is True
    assert WalletPublic(**payload["wallet"]).model_dump(exclude={"usd"}) == payload["wallet"]
