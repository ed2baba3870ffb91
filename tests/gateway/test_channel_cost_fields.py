"""The channel fields of upstream cost and reconciliation, as the admin API validates them."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.gateway.schemas import ChannelCreate, ChannelUpdate
from tests.channel_records import channel_of

BASE = {"name": "c", "kind": "replicate", "models": ["m"], "billing": {"mode": "free"}}


def test_valid_fields_are_stored_as_exact_decimal_strings():
    body = ChannelCreate(**BASE, upstream_cost_unit={"name": "USD", "quota_per_unit": 500000},
                         upstream_cost_per_second="0.000975", expected_margin_band={"min": 1.2, "max": "3"})
    assert body.model_dump(mode="json", include={"upstream_cost_unit", "upstream_cost_per_second",
                                                 "expected_margin_band"}) == {
        "upstream_cost_unit": {"name": "USD", "quota_per_unit": "500000"},
        "upstream_cost_per_second": "0.000975", "expected_margin_band": {"min": "1.2", "max": "3"}}


@pytest.mark.parametrize("fields", [
    {"upstream_cost_unit": {"name": "USD", "quota_per_unit": 0}},
    {"upstream_cost_unit": {"name": "US D", "quota_per_unit": 1}},
    {"upstream_cost_unit": {"name": "=cmd", "quota_per_unit": 1}},
    {"upstream_cost_unit": {"name": "USD"}},
    {"upstream_cost_unit": {"name": "USD", "quota_per_unit": 1, "rate": 2}},
    {"upstream_cost_per_second": -1}, {"upstream_cost_per_second": "NaN"}, {"upstream_cost_per_second": 10**7},
    {"expected_margin_band": {"min": 3, "max": 1}}, {"expected_margin_band": {"min": -1, "max": 1}},
    {"expected_margin_band": {"min": 1}}])
def test_bad_fields_are_refused(fields):
    with pytest.raises(ValidationError):
        ChannelCreate(**BASE, **fields)
    with pytest.raises(ValidationError):
        ChannelUpdate(**fields)


def test_an_update_may_clear_them():
    assert ChannelUpdate(expected_margin_band=None).model_dump(mode="json", exclude_unset=True) == {
        "expected_margin_band": None}


def test_late_result_policy_and_watch_window():
    body = ChannelCreate(**BASE, late_result="deliver_free", late_watch_s=0)
    assert body.model_dump(include={"late_result", "late_watch_s"}) == {"late_result": "deliver_free", "late_watch_s": 0}
    for fields in ({"late_result": "charge"}, {"late_watch_s": -1}, {"late_watch_s": 31 * 86400}):
        with pytest.raises(ValidationError):
            ChannelUpdate(**fields)


def test_settlement_guardrails_are_validated_and_snapshotted_exactly():
    from shared.settlement_review import guardrails_of
    body = ChannelCreate(**BASE, max_charge=5000, max_charge_multiple="2.5")
    stored = body.model_dump(mode="json", include={"max_charge", "max_charge_multiple"})
    assert stored == {"max_charge": 5000, "max_charge_multiple": "2.5"}
    assert guardrails_of(channel_of(**stored)) == {"max_charge": 5000, "max_charge_multiple": "2.5"}
    assert guardrails_of(channel_of(max_charge=None)) is None
    for fields in ({"max_charge": -1}, {"max_charge": 10**16}, {"max_charge": 1.5}, {"max_charge_multiple": 1},
                   {"max_charge_multiple": "0.5"}, {"max_charge_multiple": "NaN"}, {"max_charge_multiple": 10**7}):
        with pytest.raises(ValidationError):
            ChannelUpdate(**fields)
