"""shared/upstream_cost.py: an upstream's cost figure is read as an exact decimal or rejected with
a stable reason, and recorded in the channel's unit at its quota rate, half-even. How each
provider finds the figure in its upstream's answer is tests/providers/test_upstream_cost.py."""
from __future__ import annotations

from decimal import Decimal

import pytest

from shared.upstream_cost import CostRejected, CostTerms, cost_of_seconds, read_figure, reading, recorded
from tests.channel_records import channel_of


@pytest.mark.parametrize(("figure", "reason"), [
    ("lots", "not_a_number"), (True, "not_a_number"), ({"usd": 1}, "not_a_number"), ("NaN", "not_a_number"),
    (float("inf"), "not_a_number"), (-0.01, "negative"), (1e30, "too_large"), ("1e10", "too_large")])
def test_unbelievable_figures_are_rejected(figure, reason):
    with pytest.raises(CostRejected) as caught:
        read_figure(figure)
    assert caught.value.reason == reason


def test_figures_are_exact_decimals_converted_to_quota_half_even():
    assert read_figure("0.050") == Decimal("0.05") and read_figure(2) == Decimal(2)
    assert read_figure("1e-40") == 0  # finer than any bill: twelve places kept
    usd = CostTerms("USD", Decimal(500000))
    assert recorded(read_figure(0.000001), usd) == {"amount": "0.000001", "unit": "USD", "quota": 0}
    assert recorded(read_figure("0.000003"), usd) == {"amount": "0.000003", "unit": "USD", "quota": 2}
    assert recorded(read_figure("1e3"), CostTerms()) == {"amount": "1000", "unit": "quota", "quota": 1000}


def test_a_channel_without_a_unit_counts_in_quota():
    assert CostTerms.of(channel_of()) == CostTerms("quota", Decimal(1), None)
    assert CostTerms.of(channel_of(upstream_cost_unit={"name": "USD", "quota_per_unit": 500000},
                                   upstream_cost_per_second=0.000975)) == \
        CostTerms("USD", Decimal(500000), Decimal("0.000975"))  # the rate exact as written


def test_a_reading_is_the_cost_or_why_it_was_rejected_or_nothing():
    assert reading("0.05") == (Decimal("0.05"), None)
    assert reading(-1) == (None, "negative")
    assert reading(None) == (None, None)  # the upstream reported no cost


def test_seconds_are_priced_at_the_channel_rate_only_when_it_has_one():
    assert cost_of_seconds(CostTerms(per_second=Decimal("0.002")), 12) == Decimal("0.024")
    assert cost_of_seconds(CostTerms(), 12) is None
    with pytest.raises(CostRejected):
        cost_of_seconds(CostTerms(per_second=Decimal(1)), "soon")


def test_a_quota_beyond_the_gateway_bound_is_rejected():
    with pytest.raises(CostRejected) as caught:
        recorded(Decimal(10**9), CostTerms("X", Decimal(10**7)))
    assert caught.value.reason == "too_large"


def test_half_even_rounds_a_half_quota_to_the_even_neighbour():
    assert recorded(Decimal("2.5"), CostTerms())["quota"] == 2
    assert recorded(Decimal("3.5"), CostTerms())["quota"] == 4
