import random

from services.poller.schedule import MAX_BACKOFF_S, delay_s


def test_no_errors_polls_at_the_interval():
    assert delay_s(2.0) == 2.0


def test_backoff_grows_with_errors_and_stays_bounded():
    rng = random.Random(1)
    delays = [delay_s(1.0, errors, rng=rng) for errors in range(1, 12)]
    assert delays[0] <= 3.0 and delays[3] >= 8.0
    assert max(delays) <= MAX_BACKOFF_S * 1.5


def test_retry_after_is_respected():
    assert delay_s(1.0, 1, retry_after_s=40.0, rng=random.Random(2)) >= 40.0
