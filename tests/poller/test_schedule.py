import random
from datetime import timedelta

from services.poller.schedule import MAX_BACKOFF_S, delay_s, next_poll
from shared.clock import now, parse


def test_no_errors_polls_at_the_interval():
    assert delay_s(2.0) == 2.0


def test_backoff_grows_with_errors_and_stays_bounded():
    rng = random.Random(1)
    delays = [delay_s(1.0, errors, rng=rng) for errors in range(1, 12)]
    assert delays[0] <= 3.0 and delays[3] >= 8.0
    assert max(delays) <= MAX_BACKOFF_S * 1.5


def test_retry_after_is_respected():
    assert delay_s(1.0, 1, retry_after_s=40.0, rng=random.Random(2)) >= 40.0


def test_the_next_poll_is_due_one_delay_from_now():
    before = now()
    due = parse(next_poll(30.0))
    assert before + timedelta(seconds=30) <= due <= now() + timedelta(seconds=30)


def test_a_throttled_upstream_s_wait_is_kept_even_past_the_backoff_cap():
    assert delay_s(1.0, 1, retry_after_s=MAX_BACKOFF_S * 2, rng=random.Random(3)) == MAX_BACKOFF_S * 2
