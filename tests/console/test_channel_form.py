"""services/gateway/console/channel_form.py: the channel form's caller_token choice reaches the API body."""
from __future__ import annotations

from starlette.datastructures import FormData

from services.gateway.console.channel_form import channel_body


def test_the_caller_token_choice_is_passed_on_and_blank_leaves_the_stored_one():
    chosen = channel_body(FormData([("name", "c"), ("caller_token", "none")]), creating=False)
    assert chosen["caller_token"] == "none"
    assert "caller_token" not in channel_body(FormData([("name", "c")]), creating=False)


def test_the_secrets_costs_guardrails_and_late_policy_reach_the_api_body():
    body = channel_body(FormData([
        ("name", "r"), ("webhook_secret", "whsec_abc"), ("api_key", ""),
        ("upstream_cost_unit_name", "USD"), ("upstream_cost_unit_quota_per_unit", "500000"),
        ("upstream_cost_per_second", "0.000975"), ("expected_margin_band_min", "1.1"),
        ("expected_margin_band_max", "3"), ("max_charge", "900"), ("max_charge_multiple", "2.5"),
        ("late_result", "deliver_free"), ("late_watch_s", "600")]), creating=False)
    assert body["webhook_secret"] == "whsec_abc" and "api_key" not in body  # blank: the stored key stays
    assert body["upstream_cost_unit"] == {"name": "USD", "quota_per_unit": "500000"}
    assert body["expected_margin_band"] == {"min": "1.1", "max": "3"}
    assert (body["upstream_cost_per_second"], body["max_charge"], body["max_charge_multiple"]) == ("0.000975", 900, "2.5")
    assert (body["late_result"], body["late_watch_s"]) == ("deliver_free", 600.0)
    blank = channel_body(FormData([("name", "r"), ("webhook_secret", ""), ("expected_margin_band_min", "")]),
                         creating=False)
    assert not {"webhook_secret", "expected_margin_band", "upstream_cost_unit", "late_watch_s"} & set(blank)
