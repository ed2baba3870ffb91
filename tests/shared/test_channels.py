"""shared/channels.py: the channel record read from its document, and the terms it resolves."""
from __future__ import annotations

import dataclasses

import pytest

from services.gateway.schemas import ChannelCreate, ChannelPublic
from shared.channels import Channel

STORED = {"_id": "ch_1", "name": "video", "kind": "custompass_async"}


def test_a_document_with_only_the_required_fields_takes_the_defaults():
    channel = Channel.from_document(STORED)
    assert (channel.id, channel.name, channel.kind) == ("ch_1", "video", "custompass_async")
    assert channel.models == () and channel.billing == {"mode": "free"} and channel.enabled is True
    assert channel.consecutive_failures == 0 and channel.cooldown_until is None and channel.archived_at is None
    assert channel.poll_interval_s is None and channel.priority is None and channel.weight is None


def test_an_older_document_with_nulls_and_fields_no_longer_written_reads_as_the_defaults():
    channel = Channel.from_document({**STORED, "billing": None, "models": None, "consecutive_failures": None,
                                     "enabled": None, "retired_setting": 3})
    assert channel == Channel.from_document(STORED)


def test_every_field_the_admin_api_stores_is_read_as_stored():
    body = ChannelCreate(name="video", kind="replicate", base_url="https://up.example", models=["a", "b/submit"],
                         billing={"mode": "per_usage", "price": 7, "usage_field": "seconds"}, timeout_s=9,
                         priority=2, weight=0, upstream_cost_per_second="0.000975", max_charge_multiple="2.5",
                         expected_margin_band={"min": "1.5", "max": "3"}, late_result="deliver_free")
    stored = {"_id": "ch_1", **body.model_dump(mode="json"), "created_at": "2026-12-03T08:00:00.000000Z"}
    channel = Channel.from_document(stored)
    assert {name: getattr(channel, name) for name in ChannelCreate.model_fields} == \
        {**body.model_dump(mode="json"), "models": ("a", "b/submit")}
    assert channel.created_at == stored["created_at"] and channel.upstream_cost_per_second == "0.000975"


def test_the_record_has_every_field_the_admin_answer_shows():
    shown = set(ChannelPublic.model_fields) - {"api_key_set", "webhook_secret_set"}
    assert shown <= {f.name for f in dataclasses.fields(Channel)}


def test_a_record_is_not_changed_in_place():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Channel.from_document(STORED).enabled = False  # type: ignore[misc]


@pytest.mark.parametrize("billing, held", [(None, 0), ({"mode": "free", "price": 9}, 0),
                                           ({"mode": "per_call", "price": 10}, 10),
                                           ({"mode": "per_call", "price": 10, "precharge": 4}, 4),
                                           ({"mode": "per_usage", "price": 10}, 0)])
def test_the_hold_is_the_channels_own_price(billing, held):
    assert Channel.from_document({**STORED, "billing": billing}).hold_amount() == held


def test_a_group_ratio_is_priced_into_a_new_record_and_a_ratio_of_one_changes_nothing():
    channel = Channel.from_document({**STORED, "billing": {"mode": "per_call", "price": 10}})
    assert channel.priced("1") is channel and channel.priced("1.000") is channel
    discounted = channel.priced("0.85")
    assert discounted.billing == {"mode": "per_call", "price": 10, "price_ratio": "0.85"}
    assert discounted.hold_amount() == 9  # 8.5 rounds up once
    assert channel.billing == {"mode": "per_call", "price": 10} and channel.hold_amount() == 10
    assert dataclasses.replace(discounted, billing=channel.billing) == channel
    assert Channel.from_document(STORED).priced("2").billing == {"mode": "free", "price_ratio": "2"}


def test_the_polling_terms_are_the_channels_own_else_the_default():
    default = Channel.from_document(STORED)
    assert (default.poll_interval(30), default.lifetime(600), default.query_batch(50), default.concurrency(8)) == \
        (30.0, 600.0, 50, 8)
    own = Channel.from_document({**STORED, "poll_interval_s": 2, "task_lifetime_s": 60, "batch_size": 5,
                                 "max_concurrent": 1})
    assert (own.poll_interval(30), own.lifetime(600), own.query_batch(50), own.concurrency(8)) == (2.0, 60.0, 5, 1)


def test_a_threshold_of_zero_is_the_channels_own_never_and_not_the_default():
    assert Channel.from_document(STORED).cooldown_terms(5, 60) == (5, 60.0)
    assert Channel.from_document({**STORED, "failure_threshold": 0, "cooldown_s": 5}).cooldown_terms(5, 60) == (0, 5.0)


def test_priority_defaults_to_zero_and_weight_to_one_but_a_weight_of_zero_is_a_spare():
    assert (Channel.from_document(STORED).effective_priority, Channel.from_document(STORED).effective_weight) == (0, 1)
    spare = Channel.from_document({**STORED, "priority": -2, "weight": 0})
    assert (spare.effective_priority, spare.effective_weight) == (-2, 0)
