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


def test_stamps_of_years_before_1000_keep_the_fixed_width():
    early = datetime(534, 7, 17, 12, 22, 19, tzinfo=UTC)
    assert stamp(early) == "0534-07-17T12:22:19.000000Z"
    assert parse(stamp(early)) == early
    assert sorted([stamp(datetime(2026, 1, 1, tzinfo=UTC)), stamp(early)])[0] == stamp(early)
