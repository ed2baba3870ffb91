"""shared/backoff.py: the wait doubles per attempt up to the cap, spread over 0.5-1.5x."""
from __future__ import annotations

import random

from shared.backoff import backoff_s


class Fixed(random.Random):
    """A random source that always draws `value`, to pin the jitter to one end of its range."""

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def random(self) -> float:
        return self.value


def test_the_wait_doubles_with_each_attempt():
    middle = Fixed(0.5)  # jitter factor exactly 1
    assert [backoff_s(1.0, attempt, rng=middle) for attempt in range(5)] == [1.0, 2.0, 4.0, 8.0, 16.0]


def test_jitter_spreads_the_wait_over_half_to_one_and_a_half_times():
    assert backoff_s(4.0, 1, rng=Fixed(0.0)) == 4.0
    assert backoff_s(4.0, 1, rng=Fixed(0.999999)) < 12.0
    waits = [backoff_s(4.0, 1, rng=random.Random(seed)) for seed in range(200)]
    assert all(4.0 <= wait < 12.0 for wait in waits)
    assert len(set(waits)) == len(waits)  # retries of many tasks do not land at one moment


def test_the_cap_bounds_the_doubling_before_the_jitter():
    assert backoff_s(1.0, 40, cap_s=300.0, rng=Fixed(0.5)) == 300.0
    assert backoff_s(1.0, 40, cap_s=300.0, rng=Fixed(0.0)) == 150.0


def test_without_a_cap_the_wait_keeps_growing():
    assert backoff_s(1.0, 20, rng=Fixed(0.5)) == 2.0 ** 20
