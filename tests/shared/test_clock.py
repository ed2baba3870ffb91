from datetime import UTC, datetime, timedelta

from shared.clock import parse, stamp


def test_stamps_sort_like_the_times_they_name():
    base = datetime(2026, 1, 1, tzinfo=UTC)
    moments = [base + timedelta(microseconds=n) for n in (0, 1, 999_999)] + [base + timedelta(days=400)]
    assert sorted(stamp(m) for m in moments) == [stamp(m) for m in moments]
    assert all(len(stamp(m)) == 27 for m in moments)


def test_stamp_round_trips():
    moment = datetime(2026, 11, 25, 21, 1, 10, 345000, tzinfo=UTC)
    assert parse(stamp(moment)) == moment
