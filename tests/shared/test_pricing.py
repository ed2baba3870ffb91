from fractions import Fraction

import pytest

from shared.pricing import final_cost, hold_amount, per_usage_cost, price_ratio, usage_units


@pytest.mark.parametrize("billing,usage,cost", [
    ({"mode": "free", "price": 50}, {"total_tokens": 900}, 0),
    ({"mode": "per_call", "price": 10}, None, 10),
    ({"mode": "per_usage", "price": 100}, {"prompt_tokens": 40, "completion_tokens": 50, "total_tokens": 90}, 9),
    ({"mode": "per_usage", "price": 100}, {"total_tokens": 91}, 10),  # ceil(9.1)
    ({"mode": "per_usage", "price": 3}, {"total_tokens": 1}, 1),  # any usage costs at least one unit
    ({"mode": "per_usage", "price": 100}, {"total_tokens": 0}, 0),
    ({"mode": "per_usage", "price": 1000}, {"total_tokens": 5, "input_tokens": 7, "output_tokens": 3}, 10),
    # a configured usage field, e.g. seconds of video: fractions are exact, the cost rounds up
    ({"mode": "per_usage", "price": 2000, "usage_field": "seconds"}, {"seconds": 6, "total_tokens": 900}, 12),
    ({"mode": "per_usage", "price": 1000, "usage_field": "seconds"}, {"seconds": 2.5}, 3),
    ({"mode": "per_usage", "price": 10, "usage_field": "seconds"}, {"seconds": 0.1}, 1),
    ({"mode": "per_usage", "price": 100_000, "usage_field": "seconds"}, {"seconds": 0.29}, 29),  # no float error
])
def test_final_cost(billing, usage, cost):
    assert final_cost(billing, usage) == cost


@pytest.mark.parametrize("billing,precharge_usage,held", [
    ({"mode": "free", "price": 9, "precharge": 9}, None, 0),
    ({"mode": "per_call", "price": 10}, None, 10),
    ({"mode": "per_call", "price": 10, "precharge": 4}, None, 4),
    ({"mode": "per_usage", "price": 100}, None, 0),
    ({"mode": "per_usage", "price": 100, "precharge": 30}, None, 30),
    ({"mode": "per_usage", "price": 100, "precharge": 30}, {"total_tokens": 120}, 12),
])
def test_hold_amount(billing, precharge_usage, held):
    assert hold_amount(billing, precharge_usage) == held


def test_usage_prefers_input_output_tokens_when_reported():
    assert usage_units({"total_tokens": 10, "input_tokens": 0, "output_tokens": 0}) == 10
    assert usage_units({"total_tokens": 10, "input_tokens": 4, "output_tokens": 1}) == 5
    assert usage_units(None) is None and usage_units({}) is None  # nothing reported


def test_per_usage_cost_is_integer_ceiling():
    assert [per_usage_cost(units, 7) for units in (0, 1, 142, 143, 1000)] == [0, 1, 1, 2, 7]


@pytest.mark.parametrize("usage", [None, {}, {"total_tokens": 9}, {"seconds": "7"}, {"seconds": -1}, {"seconds": True}])
def test_per_usage_without_a_measurement_charges_what_was_held(usage):
    billing = {"mode": "per_usage", "price": 100, "usage_field": "seconds"}
    assert final_cost(billing, usage, held=40) == 40
    assert final_cost({"mode": "per_call", "price": 7}, usage, held=40) == 7


@pytest.mark.parametrize("ratio,billing,usage,held,cost", [
    ("0.8", {"mode": "per_call", "price": 10}, None, 8, 8),
    ("0.8", {"mode": "per_call", "price": 7}, None, 6, 6),  # 5.6 rounds up
    ("0.8", {"mode": "per_call", "price": 10, "precharge": 3}, None, 3, 8),  # 2.4 rounds up
    ("1.5", {"mode": "per_usage", "price": 100}, {"total_tokens": 91}, 0, 14),  # 13.65: one rounding, not ceil(9.1)*1.5
    ("0.8", {"mode": "per_usage", "price": 1000, "usage_field": "seconds"}, {"seconds": 2.5}, 0, 2),
    ("0.333", {"mode": "per_usage", "price": 100_000, "usage_field": "seconds"}, {"seconds": 0.29}, 0, 10),  # 9.657
    ("0.8", {"mode": "free", "price": 10}, None, 0, 0),
    ("1", {"mode": "per_call", "price": 10}, None, 10, 10),
])
def test_group_price_ratio_scales_holds_and_costs(ratio, billing, usage, held, cost):
    terms = {**billing, "price_ratio": ratio}
    assert hold_amount(terms) == held
    assert final_cost(terms, usage) == cost


def test_group_price_ratio_prices_an_upstream_precharge_estimate():
    terms = {"mode": "per_usage", "price": 100, "price_ratio": "0.5"}
    assert hold_amount(terms, {"total_tokens": 120}) == 6


def test_unknown_usage_charges_the_hold_without_scaling_it_twice():
    terms = {"mode": "per_usage", "price": 100, "price_ratio": "0.5"}
    assert final_cost(terms, None, held=40) == 40


@pytest.mark.parametrize("ratio", ["0.7", 0.7])
def test_a_price_ratio_is_exact_as_written(ratio):
    # a binary float would make 10 x 0.7 = 7.000000000000001 and round it up to 8
    terms = {"mode": "per_call", "price": 10, "price_ratio": ratio}
    assert price_ratio(terms) == Fraction(7, 10)
    assert hold_amount(terms) == final_cost(terms, None) == 7


def test_without_a_group_ratio_prices_are_as_listed():
    assert price_ratio({"mode": "per_call", "price": 10}) == 1


def test_a_zero_precharge_holds_nothing():
    assert hold_amount({"mode": "per_call", "price": 10, "precharge": 0}) == 0


@pytest.mark.parametrize("seconds", [float("nan"), float("-inf"), None])
def test_a_usage_field_that_is_no_measurement_counts_no_units(seconds):
    assert usage_units({"seconds": seconds, "total_tokens": 50}, "seconds") is None


def test_fractional_units_are_counted_as_the_decimal_written():
    assert usage_units({"seconds": 0.1}, "seconds") == Fraction(1, 10)


def test_an_infinite_usage_is_no_measurement_and_charges_what_was_held():
    billing = {"mode": "per_usage", "price": 100, "usage_field": "predict_time"}
    assert usage_units({"predict_time": float("inf")}, "predict_time") is None
    assert final_cost(billing, {"predict_time": float("inf")}, held=40) == 40


def test_token_counts_that_are_no_numbers_charge_what_was_held():
    usage = {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3, "input_tokens": "many"}
    assert final_cost({"mode": "per_usage", "price": 100}, usage, held=40) == 40
    for bad in ({"output_tokens": -8, "input_tokens": 10}, {"total_tokens": "3"}, {"total_tokens": True}):
        assert usage_units(bad) is None, bad
